// Live updates over Server-Sent Events. The browser's EventSource resends
// the last event id when it reconnects, and the server replays whatever
// happened meanwhile from its events table, so nothing is missed across a
// dropped connection or a restarted node.

import { t, toast } from './format.js';

const KINDS = [
  'conversation.created', 'conversation.updated', 'conversation.merged',
  'message.created', 'message.updated', 'message.engaged',
  'presence.changed', 'notification.created', 'notification.read',
  'alert.raised', 'alert.resolved', 'channel.updated', 'user.updated',
  'sla.warning', 'sla.breached', 'csat.answered', 'known_issue.linked',
];

const handlers = new Map();

/** Calls `fn(event)` for every live event of `kind`. */
export function on(kind, fn) {
  if (!handlers.has(kind)) handlers.set(kind, []);
  handlers.get(kind).push(fn);
}

let source = null;
let lost = false;

/** Opens the stream (once). */
export function start() {
  if (source || !window.EventSource) return;
  source = new EventSource('/api/v1/events');
  for (const kind of KINDS) {
    source.addEventListener(kind, (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      for (const fn of handlers.get(kind) || []) {
        try {
          fn(event);
        } catch (err) {
          console.error(err);
        }
      }
    });
  }
  source.addEventListener('open', () => {
    document.body.dataset.live = 'on';
    if (lost) {
      lost = false;
      toast(t('online'));
    }
  });
  source.addEventListener('error', () => {
    document.body.dataset.live = 'off';
    if (!lost) {
      lost = true;
      toast(t('offline'), 'error');
    }
  });
}
