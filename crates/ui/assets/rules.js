// The rules settings: the when / if / then editor posts a rule as JSON (the
// conditions' and the actions' rows become lists; an action sends only the
// parameters its type takes), and the arrows change the order the rules run
// in. Everything goes through the API.

import { api, reportError, t, toast } from './format.js';

/** The rule a form describes, as the API takes it. */
export function ruleOf(form) {
  const field = (name) => form.querySelector(`[name="${name}"]`);
  const kind = field('trigger').value;
  const trigger = kind === 'idle' ? { kind, minutes: Number(field('minutes').value) } : { kind };
  const items = [...form.querySelectorAll('[data-condition]')]
    .map((row) => ({
      field: row.querySelector('[name="field"]').value,
      op: row.querySelector('[name="op"]').value,
      key: row.querySelector('[name="key"]').value.trim(),
      value: row.querySelector('[name="value"]').value.trim(),
    }))
    .filter((c) => c.field);
  const actions = [...form.querySelectorAll('[data-actions] [data-action]')].map(actionOf);
  return {
    trigger,
    conditions: { mode: field('mode').value, items },
    actions,
    stop: field('stop').checked,
    reply_to_negative: field('reply_to_negative').checked,
  };
}

/** One action row as the API takes it: its type and that type's parameters. */
function actionOf(row) {
  const type = row.querySelector('[data-action-type]').value;
  const action = { type };
  for (const param of row.querySelectorAll('[data-param]')) {
    if (!param.dataset.for.split(' ').includes(type)) continue;
    const input = param.querySelector('[data-key]');
    const key = input.dataset.key;
    if (input.type === 'checkbox') {
      action[key] = input.checked;
    } else if (input.dataset.type === 'number') {
      if (input.value !== '') action[key] = Number(input.value);
    } else if (input.dataset.type === 'json') {
      if (!input.value.trim()) continue;
      try {
        action[key] = JSON.parse(input.value);
      } catch (err) {
        throw new Error(t('rule-actions-invalid', { error: err.message }));
      }
    } else if (input.value.trim() !== '') {
      action[key] = input.value.trim();
    }
  }
  return action;
}

/** Shows the parameters the row's type takes, and hides the others. */
function showParams(row) {
  const type = row.querySelector('[data-action-type]').value;
  for (const param of row.querySelectorAll('[data-param]')) {
    param.hidden = !param.dataset.for.split(' ').includes(type);
  }
}

function addAction(button) {
  const form = button.closest('form[data-rule-form]');
  const template = form.querySelector('template[data-action-template]');
  const row = template.content.firstElementChild.cloneNode(true);
  form.querySelector('[data-actions]').append(row);
  showParams(row);
  row.querySelector('[data-action-type]').focus();
}

async function save(form) {
  const name = form.querySelector('[name="name"]').value.trim();
  try {
    const definition = ruleOf(form);
    if (form.dataset.patch) {
      await api('PATCH', `/api/v1/rules/${encodeURIComponent(form.dataset.id)}`, { name, definition });
    } else {
      await api('POST', '/api/v1/rules', { name, ...definition });
    }
    toast(t('saved'));
    window.location.reload();
  } catch (err) {
    reportError(err);
  }
}

async function move(button) {
  const list = button.closest('ol.rules');
  const ids = JSON.parse(list.dataset.ruleIds || '[]');
  const id = button.closest('li.rule').dataset.id;
  const at = ids.indexOf(id);
  const to = button.dataset.ruleMove === 'up' ? at - 1 : at + 1;
  if (at < 0 || to < 0 || to >= ids.length) return;
  [ids[at], ids[to]] = [ids[to], ids[at]];
  try {
    await api('PUT', '/api/v1/rules/order', { rule_ids: ids });
    window.location.reload();
  } catch (err) {
    reportError(err);
  }
}

export function init(root = document) {
  root.addEventListener('submit', (event) => {
    const form = event.target.closest('form[data-rule-form]');
    if (!form) return;
    event.preventDefault();
    save(form);
  });
  root.addEventListener('click', (event) => {
    const button = event.target.closest('[data-rule-move]');
    if (button) move(button);
    const add = event.target.closest('[data-action-add]');
    if (add) addAction(add);
    const remove = event.target.closest('[data-action-remove]');
    if (remove) remove.closest('[data-action]').remove();
  });
  root.addEventListener('change', (event) => {
    const type = event.target.closest('[data-action-type]');
    if (type) showParams(type.closest('[data-action]'));
  });
}
