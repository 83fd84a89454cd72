// Hark in the browser: starts the live connection and the parts of the
// page that are present, and handles what every page shares (keyboard
// shortcuts, notifications, availability and language).

import * as conversation from './conversation.js';
import * as composer from './composer.js';
import { api, boot, decorate, reportError, t, toast, typing } from './format.js';
import * as forms from './forms.js';
import * as inbox from './inbox.js';
import * as levels from './levels.js';
import * as live from './live.js';
import * as rules from './rules.js';

function shortcuts(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === 'Escape') {
    for (const d of document.querySelectorAll('details[open]')) d.removeAttribute('open');
    for (const p of document.querySelectorAll('.picker:not([hidden]), .notifications-panel:not([hidden])')) p.hidden = true;
    if (typing(event)) event.target.blur();
    return;
  }
  if (typing(event)) return;
  const keys = {
    j: () => inbox.move(1),
    k: () => inbox.move(-1),
    Enter: () => inbox.openCursor(),
    x: () => inbox.toggleCursor(),
    e: () => (inbox.hasPicked() ? inbox.bulk({ status: 'resolved' }) : conversation.resolve()),
    a: () => conversation.focusAssignee(),
    r: () => composer.focusComposer(document.querySelector('.conversation')?.dataset.kind === 'public' ? 'public' : 'private'),
    n: () => composer.focusComposer('note'),
    '/': () => document.querySelector('.search input')?.focus(),
    '?': () => document.getElementById('shortcuts')?.showModal(),
  };
  const action = keys[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
}

function notifications() {
  const bell = document.querySelector('.bell');
  const panel = document.querySelector('.notifications-panel');
  if (!bell || !panel) return;
  const count = bell.querySelector('.count');
  const setCount = (n) => {
    count.textContent = String(n);
    count.hidden = n <= 0;
  };
  bell.addEventListener('click', async () => {
    panel.hidden = !panel.hidden;
    if (panel.hidden) return;
    try {
      const page = await api('GET', '/api/v1/notifications?limit=20');
      const list = panel.querySelector('.notifications');
      list.replaceChildren(
        ...page.items.map((n) => {
          const li = document.createElement('li');
          if (!n.read_at) li.classList.add('unread');
          const a = document.createElement('a');
          a.href = n.conversation_id ? `/inbox/c/${encodeURIComponent(n.conversation_id)}?view=all` : '/inbox';
          a.textContent = n.text;
          a.dir = 'auto';
          const when = document.createElement('time');
          when.setAttribute('datetime', n.created_at);
          when.dataset.format = 'relative';
          li.append(a, document.createElement('br'), when);
          return li;
        }),
      );
      decorate(list);
      panel.querySelector('.empty').hidden = page.items.length > 0;
    } catch (err) {
      reportError(err);
    }
  });
  panel.querySelector('[data-action="read-all"]').addEventListener('click', async () => {
    try {
      await api('POST', '/api/v1/notifications/read', {});
      setCount(0);
      for (const li of panel.querySelectorAll('li.unread')) li.classList.remove('unread');
    } catch (err) {
      reportError(err);
    }
  });
  live.on('notification.created', (event) => {
    const n = event.payload;
    if (!n || n.user_id !== boot.me.id) return;
    setCount(Number(count.textContent || 0) + 1);
    toast(n.text);
  });
}

function preferences() {
  const availability = document.querySelector('select.availability');
  availability?.addEventListener('change', async () => {
    try {
      await api('PATCH', '/api/v1/me', { availability: availability.value });
      toast(t('saved'));
    } catch (err) {
      reportError(err);
    }
  });
  const locale = document.querySelector('select.locale');
  locale?.addEventListener('change', async () => {
    try {
      await api('PATCH', '/api/v1/me', { locale: locale.value });
      location.reload();
    } catch (err) {
      reportError(err);
    }
  });
  document.querySelector('[data-action="shortcuts"]')?.addEventListener('click', () => {
    document.getElementById('shortcuts')?.showModal();
  });
}

/** Hark's note about a channel (see `note_json` on the server), or `fallback`. */
function channelNote(note, fallback) {
  if (!note || !note.key) return fallback;
  const args = { ...(note.args || {}) };
  if (note.inner) args.words = channelNote(note.inner, args.words);
  return t(`channel-note-${note.key}`, args);
}

/**
 * An alert in the viewer's language, from its payload's facts; the English
 * `message` only for a kind this page does not know.
 */
function alertText(p) {
  if (p.kind === 'channel_unhealthy') {
    const detail = channelNote(p.detail_note, p.detail || '');
    const key = p.health === 'failing' ? 'alert-channel-failing' : 'alert-channel-degraded';
    return t(key, { channel: p.channel_name || '', detail });
  }
  if (p.kind === 'surge') {
    return t(p.measure === 'negative_share' ? 'alert-surge-negative' : 'alert-surge-volume', {
      scope: p.channel_name || t('alert-all-channels'),
      count: p.window_count,
      usual: Number(p.baseline_per_bucket || 0).toLocaleString(boot.locale || undefined, { maximumFractionDigits: 1 }),
      terms: (p.top_terms || []).join(', ') || '—',
    });
  }
  return p.message || p.kind || '';
}

function alerts() {
  const box = document.querySelector('.alerts');
  live.on('alert.raised', (event) => {
    const p = event.payload || {};
    const el = document.createElement('div');
    el.className = 'alert';
    el.dataset.subject = event.subject_id;
    el.textContent = t('alert', { message: alertText(p) });
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'link';
    close.textContent = '×';
    close.addEventListener('click', () => el.remove());
    el.append(close);
    box?.append(el);
  });
  live.on('alert.resolved', (event) => {
    for (const el of box?.querySelectorAll('.alert') || []) if (el.dataset.subject === event.subject_id) el.remove();
  });
}

function start() {
  decorate();
  setInterval(() => decorate(), 30000);
  forms.init();
  rules.init();
  notifications();
  preferences();
  alerts();
  document.addEventListener('keydown', shortcuts);
  if (document.body.dataset.section === 'inbox') {
    inbox.init();
    conversation.init();
  }
  levels.init();
  live.start();
  document.body.dataset.ready = 'true';
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
