// Service levels in the browser: SLA countdowns on inbox rows, the live
// dashboard, and banners for active known issues. Text goes in through
// textContent; the dashboard is replaced by a fragment the server rendered.

import { api, duration, t } from './format.js';
import * as live from './live.js';

/** Ticks every `[data-sla-due]` element: time left, or how long overdue. */
function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll('[data-sla-due]')) {
    const due = new Date(el.dataset.slaDue).getTime();
    if (Number.isNaN(due)) continue;
    const left = due - now;
    el.textContent = left >= 0 ? t('sla-left', { time: duration(left) }) : t('sla-over', { time: duration(-left) });
    el.classList.toggle('warn', left >= 0 && left < 15 * 60000);
    el.classList.toggle('late', left < 0);
  }
}

let refreshing = null;

/** Re-renders the dashboard (at most every two seconds while events flow). */
function refreshDashboard() {
  if (refreshing) return;
  refreshing = setTimeout(async () => {
    refreshing = null;
    const box = document.getElementById('dashboard-live');
    if (!box) return;
    try {
      const res = await fetch('/ui/dashboard', { credentials: 'same-origin' });
      if (res.ok) box.innerHTML = await res.text();
    } catch {
      // The next event or tick tries again.
    }
  }, 2000);
}

async function knownIssueBanners() {
  const box = document.querySelector('.alerts');
  if (!box) return;
  try {
    const list = await api('GET', '/api/v1/known-issues');
    const now = Date.now();
    for (const item of list.items || []) {
      const issue = item.issue || {};
      const starts = new Date(issue.starts_at).getTime();
      const ends = issue.ends_at ? new Date(issue.ends_at).getTime() : Infinity;
      if (!(starts <= now && now < ends)) continue;
      const el = document.createElement('div');
      el.className = 'alert known-issue';
      el.dataset.subject = issue.id;
      el.textContent = t('known-issue-banner', { title: issue.title || '', body: issue.body || '', count: item.conversations || 0 });
      box.append(el);
    }
  } catch {
    // No banner when the list cannot be read.
  }
}

export function init() {
  tick();
  setInterval(tick, 1000);
  const section = document.body.dataset.section;
  if (section === 'dashboard') {
    for (const kind of ['conversation.updated', 'conversation.created', 'message.created', 'sla.warning', 'sla.breached', 'user.updated']) {
      live.on(kind, refreshDashboard);
    }
    setInterval(refreshDashboard, 30000);
  }
  if (section === 'inbox') knownIssueBanners();
}
