// The inbox list: opening conversations without reloading, new and changed
// conversations appearing live, view counts, keyboard navigation and bulk
// actions.

import * as conversation from './conversation.js';
import { api, decorate, elementsOf, fragment, reportError, t, toast } from './format.js';
import { on } from './live.js';

function list() {
  return document.querySelector('.list');
}

function rows() {
  return [...document.querySelectorAll('.rows .row')];
}

// --- opening conversations ---------------------------------------------------

async function open(url, push = true) {
  const target = new URL(url, location.origin);
  const id = decodeURIComponent(target.pathname.split('/').pop());
  const paneBox = document.querySelector('.pane');
  if (!paneBox) {
    location.href = target.href;
    return;
  }
  try {
    const html = await fragment(`/ui/pane/${encodeURIComponent(id)}${target.search}`);
    conversation.leave();
    paneBox.replaceChildren(elementsOf(html));
    if (push) history.pushState({ id }, '', target.pathname + target.search);
    for (const row of rows()) row.classList.toggle('active', row.dataset.id === id);
    const name = paneBox.querySelector('.conv-who h2');
    if (name) document.title = `${name.textContent} · Hark`;
    conversation.mount();
  } catch (err) {
    reportError(err);
  }
}

// --- live rows ---------------------------------------------------------------

const pending = new Set();
let flushTimer = null;

function queue(id) {
  pending.add(id);
  clearTimeout(flushTimer);
  flushTimer = setTimeout(flush, 200);
}

/** Asks the server how the changed conversations look in this list now. */
async function flush() {
  const box = list();
  if (!box || pending.size === 0) return;
  const ids = [...pending].slice(0, 100);
  for (const id of ids) pending.delete(id);
  try {
    const data = await api('GET', `/ui/rows?${box.dataset.query}&ids=${ids.map(encodeURIComponent).join(',')}`);
    for (const id of data.gone) document.querySelector(`.rows .row[data-id="${CSS.escape(id)}"]`)?.remove();
    for (const [id, html] of Object.entries(data.rows)) place(id, html);
    document.querySelector('.empty-list')?.toggleAttribute('hidden', rows().length > 0);
    refreshCounts();
  } catch (err) {
    console.warn(err);
  }
  if (pending.size) flush();
}

/** Puts a row where the list's order says, keeping its selection. */
function place(id, html) {
  const ol = document.querySelector('.rows');
  const row = elementsOf(html).firstElementChild;
  const old = ol.querySelector(`.row[data-id="${CSS.escape(id)}"]`);
  if (old) {
    row.classList.toggle('active', old.classList.contains('active'));
    row.classList.toggle('cursor', old.classList.contains('cursor'));
    const picked = old.querySelector('.pick')?.checked;
    if (picked) {
      row.querySelector('.pick').checked = true;
      row.classList.add('picked');
    }
    old.remove();
  } else {
    row.classList.add('fresh');
  }
  if (openIdFromUrl() === id) row.classList.add('active');
  decorate(row);
  if (list().dataset.sort === 'activity') {
    const at = Number(row.dataset.activity);
    const after = rows().find((r) => Number(r.dataset.activity) < at);
    if (after) after.before(row);
    else if (!document.querySelector('.more')) ol.append(row);
    // A row older than the whole loaded page belongs on a later page.
  } else {
    ol.append(row);
  }
}

function openIdFromUrl() {
  const m = /^\/inbox\/c\/([^/?]+)/.exec(location.pathname);
  return m ? decodeURIComponent(m[1]) : null;
}

// --- counts ------------------------------------------------------------------

let countsTimer = null;

function refreshCounts() {
  clearTimeout(countsTimer);
  countsTimer = setTimeout(loadCounts, 800);
}

async function loadCounts() {
  const links = [...document.querySelectorAll('.views a[data-view]')].filter((a) => !a.dataset.view.startsWith('intent:'));
  if (!links.length) return;
  try {
    const keys = links.map((a) => encodeURIComponent(a.dataset.view)).join(',');
    const data = await api('GET', `/ui/counts?keys=${keys}`);
    for (const a of links) {
      const n = data.counts[a.dataset.view];
      if (n === undefined) continue;
      let badge = a.querySelector('.view-count');
      if (!badge) {
        badge = document.createElement('span');
        badge.className = 'view-count';
        a.append(badge);
      }
      badge.textContent = n >= data.cap ? `${data.cap}+` : new Intl.NumberFormat(document.documentElement.lang).format(n);
      badge.hidden = n === 0;
    }
  } catch (err) {
    console.warn(err);
  }
}

// --- keyboard and selection ----------------------------------------------------

function cursorRow() {
  return document.querySelector('.rows .row.cursor') || document.querySelector('.rows .row.active');
}

export function move(step) {
  const all = rows();
  if (!all.length) return;
  const current = cursorRow();
  let index = current ? all.indexOf(current) + step : 0;
  index = Math.max(0, Math.min(all.length - 1, index));
  for (const r of all) r.classList.remove('cursor');
  all[index].classList.add('cursor');
  all[index].scrollIntoView({ block: 'nearest' });
}

export function openCursor() {
  const row = cursorRow();
  if (row) open(row.querySelector('.row-link').href);
}

export function toggleCursor() {
  const row = cursorRow();
  const pick = row?.querySelector('.pick');
  if (pick) {
    pick.checked = !pick.checked;
    onPick();
  }
}

function picked() {
  return rows().filter((r) => r.querySelector('.pick')?.checked).map((r) => r.dataset.id);
}

function onPick() {
  const ids = picked();
  for (const r of rows()) r.classList.toggle('picked', !!r.querySelector('.pick')?.checked);
  const bar = document.querySelector('.bulk');
  if (!bar) return;
  bar.hidden = ids.length === 0;
  bar.querySelector('.bulk-count').textContent = t('selected', { count: ids.length });
}

export async function bulk(update) {
  const ids = picked();
  if (!ids.length) {
    toast(t('nothing-selected'));
    return false;
  }
  try {
    const outcomes = await api('POST', '/api/v1/conversations/bulk', { conversation_ids: ids, update });
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length) toast(failed.map((f) => f.error).join('; '), 'error');
    else toast(t('done'));
    for (const r of rows()) {
      const pick = r.querySelector('.pick');
      if (pick) pick.checked = false;
    }
    onPick();
    for (const id of ids) queue(id);
  } catch (err) {
    reportError(err);
  }
  return true;
}

export function hasPicked() {
  return picked().length > 0;
}

function wire() {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('.row-link, a[data-open]');
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.button === 0) {
      event.preventDefault();
      open(link.href);
    }
  });
  document.addEventListener('change', (event) => {
    if (event.target.matches('.rows .pick')) onPick();
    if (event.target.matches('.select-all input')) {
      for (const r of rows()) {
        const pick = r.querySelector('.pick');
        if (pick) pick.checked = event.target.checked;
      }
      onPick();
    }
    if (event.target.matches('.list-head form.sort select')) event.target.form.submit();
    const bulkSelect = event.target.closest('.bulk select');
    if (bulkSelect && bulkSelect.value) {
      const v = bulkSelect.value;
      bulkSelect.value = '';
      if (bulkSelect.dataset.bulk === 'assign') bulk({ assignee_id: v === 'none' ? null : v });
      if (bulkSelect.dataset.bulk === 'label') bulk({ add_labels: [v] });
    }
  });
  document.addEventListener('click', (event) => {
    const button = event.target.closest('.bulk button[data-bulk]');
    if (button) {
      const kind = button.dataset.bulk;
      if (kind === 'resolve') bulk({ status: 'resolved' });
      if (kind === 'no-reply') bulk({ status: 'resolved', add_labels: ['no-reply-needed'] });
      if (kind === 'clear') {
        for (const r of rows()) {
          const pick = r.querySelector('.pick');
          if (pick) pick.checked = false;
        }
        onPick();
      }
    }
    const toggle = event.target.closest('.filters-toggle');
    if (toggle) {
      const form = document.getElementById('filters');
      form.hidden = !form.hidden;
      toggle.setAttribute('aria-expanded', String(!form.hidden));
    }
    const save = event.target.closest('[data-action="save-view"]');
    if (save) saveView(save);
  });
  window.addEventListener('popstate', () => {
    if (openIdFromUrl()) open(location.href, false);
    else location.reload();
  });
}

async function saveView(button) {
  const form = button.closest('form');
  const name = window.prompt(t('view-name'));
  if (!name) return;
  const data = new FormData(form);
  const filters = {};
  const statuses = data.get('status');
  if (statuses) filters.statuses = [statuses];
  for (const [field, key] of [['kind', 'kind'], ['network', 'network'], ['channel', 'channel_id'], ['assignee', 'assignee'],
    ['team', 'team_id'], ['label', 'label'], ['language', 'language'], ['sentiment', 'sentiment'], ['intent', 'intent'],
    ['priority', 'priority']]) {
    const v = data.get(field);
    if (v) filters[key] = v;
  }
  for (const field of ['since', 'until']) {
    const v = data.get(field);
    if (v) filters[field] = new Date(`${v}T00:00:00`).toISOString();
  }
  if (data.get('needs_reply')) filters.needs_reply = true;
  const shared = !!form.querySelector('input[name="shared"]')?.checked;
  try {
    const view = await api('POST', '/api/v1/views', { name, filters, shared });
    location.href = `/inbox?view=${encodeURIComponent(`saved:${view.id}`)}`;
  } catch (err) {
    reportError(err);
  }
}

export function init() {
  if (!list()) return;
  wire();
  on('conversation.created', (event) => {
    queue(event.subject_id);
  });
  on('conversation.updated', (event) => queue(event.subject_id));
  loadCounts();
}
