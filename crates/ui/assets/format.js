// Shared helpers: the boot data, localized strings, dates in the viewer's
// language, label colours, toasts, and calls to Hark's JSON API.
//
// Nothing here builds HTML from data: text goes in through textContent, and
// the only HTML inserted anywhere is fragments Hark's server rendered (and
// escaped) itself.

const bootElement = document.getElementById('hark-boot');
export const boot = bootElement ? JSON.parse(bootElement.textContent) : { strings: {}, users: [], me: {} };

/** A localized message with `{ $name }` placeables filled. */
export function t(key, args = {}) {
  const text = boot.strings[key] ?? key;
  return text.replace(/\{\s*\$([a-z_]+)\s*\}/gi, (_, name) => (name in args ? String(args[name]) : ''));
}

const locale = boot.locale || document.documentElement.lang || 'en';
const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto', style: 'short' });
const absolute = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
const today = new Intl.DateTimeFormat(locale, { timeStyle: 'short' });

/** "5 min ago", "yesterday"… in the viewer's language. */
export function ago(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  const steps = [[60, 'second'], [3600, 'minute'], [86400, 'hour'], [604800, 'day'], [2629800, 'week'], [31557600, 'month']];
  const abs = Math.abs(seconds);
  if (abs < 45) return t('just-now');
  let unit = 'year';
  let size = 31557600;
  for (let i = 0; i < steps.length; i++) {
    if (abs < steps[i][0]) {
      const previous = i === 0 ? [1, 'second'] : steps[i - 1];
      size = previous[0];
      unit = previous[1];
      break;
    }
  }
  return relative.format(Math.round(seconds / size), unit);
}

/** A waiting time such as "2 h 5 min", short and localized through Intl. */
export function duration(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60000));
  const unit = (value, u) => new Intl.NumberFormat(locale, { style: 'unit', unit: u, unitDisplay: 'narrow' }).format(value);
  if (minutes < 60) return unit(minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${unit(hours, 'hour')} ${unit(minutes % 60, 'minute')}`;
  return unit(Math.floor(hours / 24), 'day');
}

/** Fills `<time>` elements, waiting times and label colours under `root`. */
export function decorate(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll('time[datetime]')) {
    const date = new Date(el.getAttribute('datetime'));
    if (Number.isNaN(date.getTime())) continue;
    el.title = absolute.format(date);
    if (el.dataset.format === 'relative') {
      el.textContent = ago(date, now);
    } else {
      const sameDay = new Date(now).toDateString() === date.toDateString();
      el.textContent = sameDay ? today.format(date) : absolute.format(date);
    }
  }
  for (const el of root.querySelectorAll('[data-waiting-since]')) {
    const since = new Date(el.dataset.waitingSince);
    const ms = now - since.getTime();
    el.textContent = t('waiting', { time: duration(ms) });
    el.classList.toggle('warn', ms >= 3600000 && ms < 14400000);
    el.classList.toggle('late', ms >= 14400000);
  }
  for (const el of root.querySelectorAll('[data-color]')) {
    if (/^#[0-9a-fA-F]{6}$/.test(el.dataset.color)) el.style.setProperty('--label', el.dataset.color);
  }
}

/** A short message in the corner. */
export function toast(text, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = document.createElement('div');
  el.className = `toast ${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  el.textContent = text;
  box.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

/** An error from the API, with its stable code (and a refusal's message id and arguments). */
export class ApiError extends Error {
  constructor(status, code, message, key = null, args = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.key = key;
    this.args = args || {};
  }

  /** From an answer's `{"error": {...}}`. */
  static of(status, error) {
    return new ApiError(status, error.code, error.message, error.key || null, error.args);
  }
}

/** Calls the JSON API with the session's CSRF token; throws ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = boot.csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  const data = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) {
    const error = data && data.error ? data.error : { code: 'error', message: String(data).slice(0, 200) };
    throw ApiError.of(response.status, error);
  }
  return data;
}

/** Fetches one of the server's HTML fragments. */
export async function fragment(path) {
  const response = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
  if (!response.ok) throw new ApiError(response.status, 'error', response.statusText);
  return response.text();
}

/** Parses server-rendered HTML into elements (never used on other data). */
export function elementsOf(html) {
  const template = document.createElement('template');
  template.innerHTML = html;
  return template.content;
}

/**
 * An error in the viewer's language: the API's stable code picks the
 * sentence, and where the server's words carry the specifics (the field at
 * fault, a network's refusal) they follow it. A code without a sentence
 * shows the server's words alone.
 */
export function describe(err) {
  if (!(err instanceof ApiError)) return err && err.message ? err.message : String(err);
  // A network's rule reads as the interface's own message of it.
  if (err.key && `refusal-${err.key}` in boot.strings) return t(`refusal-${err.key}`, err.args);
  const key = `api-error-${err.code}`;
  return key in boot.strings ? t(key, { message: err.message }) : err.message;
}

export function reportError(err) {
  toast(t('error', { message: describe(err) }), 'error');
}

/** Whether a keyboard event happens while typing in a field. */
export function typing(event) {
  const el = event.target;
  return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}
