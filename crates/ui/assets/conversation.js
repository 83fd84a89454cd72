// The open conversation: its actions (assign, labels, priority, snooze,
// resolve, merge, move to private), the thread kept live, and presence:
// who else is viewing or typing, on every node, for collision detection.

import * as composer from './composer.js';
import { api, boot, decorate, elementsOf, fragment, reportError, t, toast } from './format.js';
import { on } from './live.js';

const PRESENCE_EVERY_MS = 15000;
const TYPING_IDLE_MS = 5000;

let presenceTimer = null;
let typingTimer = null;
let currentState = null;

function pane() {
  return document.querySelector('.conversation');
}

function openId() {
  return pane()?.dataset.id ?? null;
}

async function patch(body) {
  const id = openId();
  if (!id) return;
  try {
    await api('PATCH', `/api/v1/conversations/${encodeURIComponent(id)}`, body);
    await refreshFrame();
  } catch (err) {
    reportError(err);
  }
}

/** Snooze choices as instants in the viewer's own time. */
function snoozeUntil(choice) {
  const now = new Date();
  switch (choice) {
    case '1h': return new Date(now.getTime() + 3600e3);
    case '4h': return new Date(now.getTime() + 4 * 3600e3);
    case 'tomorrow': {
      const d = new Date(now);
      d.setDate(d.getDate() + 1);
      d.setHours(9, 0, 0, 0);
      return d;
    }
    case 'week': return new Date(now.getTime() + 7 * 86400e3);
    default: return null;
  }
}

export async function resolve() {
  const el = pane();
  if (!el) return;
  await patch({ status: el.dataset.status === 'resolved' ? 'open' : 'resolved' });
}

export function focusAssignee() {
  pane()?.querySelector('select[data-patch="assignee_id"]')?.focus();
}

/**
 * Re-renders the parts of the pane that show the conversation's state (its
 * header, links and the customer sidebar), leaving the thread and the
 * composer, and what is being typed there, as they are.
 */
export async function refreshFrame() {
  const id = openId();
  if (!id) return;
  try {
    const html = await fragment(`/ui/pane/${encodeURIComponent(id)}${location.search}`);
    if (openId() !== id) return;
    const fresh = elementsOf(html);
    for (const selector of ['.conv-head', '.linked', '.rule-log', '.context']) {
      const now = document.querySelector(`.conversation-wrap ${selector}`);
      const next = fresh.querySelector(selector);
      if (now && next) {
        // A log or a menu someone opened stays open: the conversation
        // changing underneath (a status, a rule run) must not snap it shut.
        if (selector === '.rule-log' && now.open) next.open = true;
        const menus = [...next.querySelectorAll('details')];
        now.querySelectorAll('details').forEach((menu, i) => {
          if (menu.open && menus[i]) menus[i].open = true;
        });
        now.replaceWith(next);
      } else if (!now && next && selector === '.linked') document.querySelector('.conv-head')?.after(next);
      else if (!now && next && selector === '.rule-log') document.querySelector('.thread')?.before(next);
    }
    const article = fresh.querySelector('.conversation');
    if (article) {
      pane().dataset.status = article.dataset.status;
      pane().dataset.version = article.dataset.version;
    }
    decorate(document.querySelector('.conversation-wrap'));
  } catch (err) {
    console.warn(err);
  }
}

async function upsertMessage(messageId) {
  const thread = document.querySelector('.thread');
  if (!thread) return;
  try {
    const html = await fragment(`/ui/messages/${encodeURIComponent(messageId)}`);
    const node = elementsOf(html).firstElementChild;
    if (!node || openId() === null) return;
    const existing = document.getElementById(`m-${messageId}`);
    if (existing) existing.replaceWith(node);
    else {
      const nearBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
      thread.append(node);
      if (nearBottom) thread.scrollTop = thread.scrollHeight;
    }
    decorate(node);
  } catch (err) {
    console.warn(err);
  }
}

// --- presence --------------------------------------------------------------

async function sayPresence(state) {
  const id = openId();
  if (!id) return;
  currentState = state;
  try {
    const here = await api('POST', `/api/v1/conversations/${encodeURIComponent(id)}/presence`, { state });
    showPresence(here);
  } catch {
    // Presence is a courtesy; a failed heartbeat is retried on the next one.
  }
}

function chip(who) {
  const el = document.createElement('span');
  el.className = `who-here ${who.state}`;
  el.dataset.user = who.user_id;
  el.dataset.expires = who.expires_at;
  el.textContent = t(who.state === 'typing' ? 'typing' : 'viewing', { name: who.user_name });
  return el;
}

function showPresence(list) {
  const box = document.querySelector('.presence');
  if (!box) return;
  box.replaceChildren(...list.filter((w) => w.user_id !== boot.me.id).map(chip));
}

function onPresenceEvent(event) {
  const p = event.payload;
  if (!p || p.conversation_id !== openId() || p.user_id === boot.me.id) return;
  const box = document.querySelector('.presence');
  if (!box) return;
  const old = box.querySelector(`[data-user="${CSS.escape(p.user_id)}"]`);
  if (!p.state) {
    old?.remove();
    return;
  }
  const el = chip(p);
  if (old) old.replaceWith(el);
  else box.append(el);
}

function expirePresence() {
  const now = Date.now();
  for (const el of document.querySelectorAll('.presence [data-expires]')) {
    if (new Date(el.dataset.expires).getTime() < now) el.remove();
  }
}

function typing(active) {
  if (active && currentState !== 'typing') sayPresence('typing');
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => sayPresence('viewing'), TYPING_IDLE_MS);
}

function startPresence() {
  clearInterval(presenceTimer);
  sayPresence('viewing');
  presenceTimer = setInterval(() => {
    expirePresence();
    if (document.visibilityState === 'visible') sayPresence(currentState === 'typing' ? 'typing' : 'viewing');
  }, PRESENCE_EVERY_MS);
}

/** Says goodbye to the conversation being left. */
export function leave() {
  const id = openId();
  clearInterval(presenceTimer);
  clearTimeout(typingTimer);
  if (!id) return;
  const body = JSON.stringify({ state: null });
  fetch(`/api/v1/conversations/${encodeURIComponent(id)}/presence`, {
    method: 'POST',
    keepalive: true,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': boot.csrf },
    body,
  }).catch(() => {});
}

// --- the pane ----------------------------------------------------------------

/** Wires a freshly shown pane. */
export function mount() {
  const el = pane();
  if (!el) return;
  decorate(document.querySelector('.conversation-wrap'));
  const thread = el.querySelector('.thread');
  if (thread) thread.scrollTop = thread.scrollHeight;
  composer.init(el.querySelector('.composer'), typing);
  startPresence();
}

function wire() {
  document.addEventListener('change', async (event) => {
    const select = event.target.closest('.conversation-wrap select, .conversation-wrap input[name="labels"]');
    if (!select) return;
    if (select.dataset.patch) {
      const v = select.value;
      await patch({ [select.dataset.patch]: select.dataset.patch === 'priority' ? v : v || null });
    } else if (select.name === 'labels') {
      const labels = [...document.querySelectorAll('.labels-edit input[name="labels"]:checked')].map((i) => i.value);
      await patch({ labels });
    } else if (select.dataset.action === 'snooze') {
      const until = snoozeUntil(select.value);
      select.value = '';
      if (until) await patch({ status: 'snoozed', snoozed_until: until.toISOString() });
    } else if (select.dataset.action === 'merge' && select.value) {
      const from = select.value;
      select.value = '';
      if (!window.confirm(t('confirm-merge'))) return;
      try {
        await api('POST', `/api/v1/conversations/${encodeURIComponent(openId())}/merge`, { from_conversation_id: from });
        toast(t('done'));
        await refreshFrame();
      } catch (err) {
        reportError(err);
      }
    }
  });
  document.addEventListener('click', async (event) => {
    const button = event.target.closest('.conversation-wrap button');
    if (!button) return;
    const action = button.dataset.action;
    try {
      if (action === 'resolve' || action === 'reopen') {
        await resolve();
      } else if (action === 'move-to-private') {
        button.closest('details')?.removeAttribute('open');
        composer.startMoveToPrivate(document.querySelector('.composer'));
      } else if (button.dataset.retry) {
        await api('POST', `/api/v1/messages/${encodeURIComponent(button.dataset.retry)}/retry`);
        await upsertMessage(button.dataset.retry);
      } else if (button.dataset.review) {
        await api('POST', `/api/v1/messages/${encodeURIComponent(button.dataset.message)}/${button.dataset.review}`);
        await upsertMessage(button.dataset.message);
      } else if (button.dataset.engage) {
        await api('POST', `/api/v1/messages/${encodeURIComponent(button.dataset.message)}/engage`, { action: button.dataset.engage });
        toast(t('done'));
      } else if (button.dataset.mergeContact) {
        const into = button.closest('.contact-search').dataset.into;
        await api('POST', `/api/v1/contacts/${encodeURIComponent(into)}/merge`, { from_contact_id: button.dataset.mergeContact });
        toast(t('done'));
        await refreshFrame();
      }
    } catch (err) {
      reportError(err);
    }
  });
  document.addEventListener('hark:sent', (event) => {
    for (const m of event.detail.messages) upsertMessage(m.id);
  });
  let searchTimer = null;
  document.addEventListener('input', (event) => {
    const input = event.target.closest('.contact-search input');
    if (!input) return;
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => searchContacts(input), 250);
  });
  window.addEventListener('pagehide', leave);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && openId()) sayPresence('viewing');
  });
}

async function searchContacts(input) {
  const box = input.closest('.contact-search');
  const list = box.querySelector('.results');
  const q = input.value.trim();
  if (q.length < 2) {
    list.replaceChildren();
    return;
  }
  try {
    const found = await api('GET', `/api/v1/contacts?q=${encodeURIComponent(q)}&limit=8`);
    list.replaceChildren(
      ...found.items
        .filter((c) => c.id !== box.dataset.into)
        .map((c) => {
          const li = document.createElement('li');
          const name = document.createElement('span');
          name.dir = 'auto';
          name.textContent = `${c.display_name}${c.identities.length ? ` · ${c.identities.map((i) => i.handle).join(', ')}` : ''}`;
          const merge = document.createElement('button');
          merge.type = 'button';
          merge.className = 'small';
          merge.dataset.mergeContact = c.id;
          merge.textContent = '⇲';
          merge.title = c.display_name;
          li.append(name, merge);
          return li;
        }),
    );
  } catch (err) {
    reportError(err);
  }
}

export function init() {
  wire();
  on('message.created', (event) => {
    if (event.subject_id === openId() && event.payload?.id) upsertMessage(event.payload.id);
  });
  on('message.updated', (event) => {
    if (event.subject_id === openId() && event.payload?.id) upsertMessage(event.payload.id);
  });
  let frameTimer = null;
  on('conversation.updated', (event) => {
    if (event.subject_id !== openId()) return;
    clearTimeout(frameTimer);
    frameTimer = setTimeout(refreshFrame, 300);
  });
  on('rule.ran', (event) => {
    if (event.subject_id !== openId()) return;
    clearTimeout(frameTimer);
    frameTimer = setTimeout(refreshFrame, 300);
  });
  on('presence.changed', onPresenceEvent);
  mount();
}
