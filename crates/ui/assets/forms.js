// Forms and buttons that talk to the JSON API: `data-api="METHOD /path"`,
// with `{id}` in the path taken from `data-id`. A form's fields become a
// JSON object (dotted names nest; `data-type` says how to read a value), so
// every change goes through the same API, and the same role checks, as any
// other client.

import { api, reportError, t, toast } from './format.js';

function target(el) {
  const [method, path] = (el.dataset.api || '').split(' ');
  return { method, path: path.replace('{id}', encodeURIComponent(el.dataset.id || '')) };
}

/** Reads "09:00-13:00, 14:00-18:00" as opening intervals. */
function intervals(text) {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [start, end] = part.split('-').map((s) => s.trim());
      return { start, end };
    });
}

/** Reads holiday lines: "2026-12-24 Christmas Eve 09:00-13:00". */
function holidays(text) {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [date, ...rest] = line.split(/\s+/);
      const words = [];
      const open = [];
      for (const word of rest) {
        if (/^\d{1,2}:\d{2}-\d{1,2}:\d{2},?$/.test(word)) open.push(...intervals(word.replace(/,$/, '')));
        else words.push(word);
      }
      return { date, name: words.join(' '), open };
    });
}

function value(field) {
  const type = field.dataset.type;
  const raw = field.value;
  if (field.dataset.nullIfEmpty !== undefined && raw.trim() === '') return null;
  switch (type) {
    case 'number': return raw.trim() === '' ? null : Number(raw);
    case 'bool': return raw === '' ? null : raw === 'true';
    case 'csv': return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'intervals': return intervals(raw);
    case 'holidays': return holidays(raw);
    // JSON typed by hand: sent as parsed, or as the text itself so the API names the mistake.
    case 'json': try { return JSON.parse(raw); } catch { return raw; }
    default: return raw;
  }
}

function put(object, name, val) {
  const keys = name.split('.');
  let node = object;
  for (const key of keys.slice(0, -1)) {
    node[key] = node[key] && typeof node[key] === 'object' ? node[key] : {};
    node = node[key];
  }
  node[keys[keys.length - 1]] = val;
}

/** The JSON body a form describes. */
export function formBody(form) {
  const body = {};
  const lists = new Set();
  for (const field of form.elements) {
    if (!field.name || field.disabled || field.type === 'submit' || field.type === 'button') continue;
    if (field.closest('fieldset[disabled]') || field.closest('[hidden]')) continue;
    if (field.type === 'checkbox' && field.dataset.type === 'list') {
      if (!lists.has(field.name)) {
        put(body, field.name, []);
        lists.add(field.name);
      }
      if (field.checked) {
        const keys = field.name.split('.');
        let node = body;
        for (const key of keys) node = node[key];
        node.push(field.value);
      }
      continue;
    }
    if (field.type === 'checkbox') {
      put(body, field.name, field.checked);
      continue;
    }
    put(body, field.name, value(field));
  }
  if (form.dataset.wrap) {
    const kept = form.dataset.keep ? JSON.parse(form.dataset.keep) : {};
    for (const [k, v] of Object.entries(body)) {
      if (v === null || v === '') delete kept[k];
      else kept[k] = v;
    }
    return { [form.dataset.wrap]: kept };
  }
  return body;
}

async function send(el, body) {
  if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) return;
  const { method, path } = target(el);
  el.setAttribute('aria-busy', 'true');
  try {
    await api(method, path, body);
    toast(t('saved'));
    // Settings pages show what is stored; reload so they show it exactly.
    if (document.body.dataset.section === 'settings') window.location.reload();
  } catch (err) {
    reportError(err);
  } finally {
    el.removeAttribute('aria-busy');
  }
}

export function init(root = document) {
  root.addEventListener('submit', (event) => {
    const form = event.target.closest('form[data-api]');
    if (!form) return;
    event.preventDefault();
    send(form, formBody(form));
  });
  root.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-api]');
    if (!button) return;
    event.preventDefault();
    send(button, button.dataset.body ? JSON.parse(button.dataset.body) : undefined);
  });
  root.addEventListener('change', (event) => {
    const select = event.target.closest('select[data-api][data-field]');
    if (select) {
      send(select, { [select.dataset.field]: select.value });
      return;
    }
    const toggles = event.target.closest('select[data-toggles]');
    if (toggles) showFieldsFor(toggles);
  });
  for (const select of root.querySelectorAll('select[data-toggles]')) showFieldsFor(select);
}

/** Shows the fieldset for the chosen value (e.g. a network's credentials) and disables the others. */
function showFieldsFor(select) {
  const form = select.closest('form');
  for (const set of form.querySelectorAll('fieldset[data-for]')) {
    const chosen = set.dataset.for === select.value;
    set.hidden = !chosen;
    for (const field of set.querySelectorAll('input, select, textarea')) field.disabled = !chosen;
  }
}
