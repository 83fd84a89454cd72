// The composer: public reply, private reply or internal note; the
// network's own character count; snippets with their variables filled;
// @mentions; move to private; a warning when a public reply reads like the
// brand's recent ones; files attached where the network takes them;
// Ctrl+Enter to send.

import { ApiError, api, boot, describe, reportError, t } from './format.js';

const X_URL_WEIGHT = 23;

/** Web addresses as the networks count them (a link counts 23 on X and Mastodon). */
function urls(text) {
  const found = [];
  const re = /https?:\/\/[^\s]+/gi;
  let m;
  while ((m = re.exec(text))) {
    let url = m[0].replace(/[.,;:!?)\]}'"]+$/, '');
    found.push([m.index, m.index + url.length]);
  }
  return found;
}

function xWeight(cp) {
  return cp <= 4351 || (cp >= 8192 && cp <= 8205) || (cp >= 8208 && cp <= 8223) || (cp >= 8242 && cp <= 8247) ? 1 : 2;
}

function weigh(text, weight) {
  let total = 0;
  let from = 0;
  for (const [start, end] of urls(text)) {
    for (const ch of text.slice(from, start)) total += weight(ch.codePointAt(0));
    total += X_URL_WEIGHT;
    from = end;
  }
  for (const ch of text.slice(from)) total += weight(ch.codePointAt(0));
  return total;
}

/** A text's length the way a network measures it (`measure` as the server names it). */
export function measure(kind, text) {
  switch (kind) {
    case 'x_weighted': return weigh(text, xWeight);
    case 'mastodon': return weigh(text, () => 1);
    case 'utf8_bytes': return new TextEncoder().encode(text).length;
    case 'graphemes':
      return window.Intl && Intl.Segmenter ? [...new Intl.Segmenter().segment(text)].length : [...text].length;
    default: return [...text].length;
  }
}

function options(form) {
  try {
    return JSON.parse(form.dataset.options || '[]');
  } catch {
    return [];
  }
}

function setMode(form, mode) {
  const tab = form.querySelector(`.modes [data-mode="${mode}"]`);
  if (!tab) return;
  const hint = form.querySelector('.mode-hint');
  if (tab.getAttribute('aria-disabled') === 'true') {
    hint.textContent = tab.dataset.reason || '';
    hint.classList.add('refused');
    return;
  }
  form.dataset.mode = mode;
  for (const b of form.querySelectorAll('.modes [data-mode]')) b.setAttribute('aria-selected', String(b === tab));
  hint.classList.remove('refused');
  hint.textContent = t(`${mode}-hint`);
  checkSimilar(form);
  checkAttachments(form);
  form.querySelector('.move-private').hidden = !(mode === 'private' && form.dataset.moving === 'true');
  updateCounter(form);
}

function updateCounter(form) {
  const counter = form.querySelector('.counter');
  const text = form.querySelector('textarea').value;
  const option = options(form).find((o) => o.visibility === form.dataset.mode);
  if (!option || form.dataset.mode === 'note') {
    counter.textContent = '';
    counter.classList.remove('over');
    return;
  }
  const length = measure(option.measure, text);
  counter.textContent = t('counter', { length, max: option.max });
  counter.classList.toggle('over', length > option.max);
  if (length > option.max) counter.title = t('over-limit', { length, max: option.max });
}

async function send(form) {
  const textarea = form.querySelector('textarea');
  const text = textarea.value.trim();
  const files = attached(form);
  if (!text && !files.length) return;
  const mode = form.dataset.mode;
  const id = form.dataset.conversation;
  const button = form.querySelector('.send');
  button.disabled = true;
  try {
    let created;
    if (mode === 'private' && form.dataset.moving === 'true') {
      const publicReply = form.querySelector('[name="public_reply"]').value.trim();
      const moved = await api('POST', `/api/v1/conversations/${encodeURIComponent(id)}/move-to-private`, {
        text,
        public_reply: publicReply || null,
      });
      created = [moved.public_reply, moved.private_message].filter(Boolean);
      form.dataset.moving = 'false';
      form.querySelector('.move-private').hidden = true;
    } else {
      const body = { visibility: mode, text, attachments: files };
      created = [await api('POST', `/api/v1/conversations/${encodeURIComponent(id)}/messages`, body)];
      form.querySelector('.attachments.pending').replaceChildren();
    }
    textarea.value = '';
    updateCounter(form);
    checkSimilar(form);
    form.dispatchEvent(new CustomEvent('hark:sent', { bubbles: true, detail: { messages: created } }));
  } catch (err) {
    const hint = form.querySelector('.mode-hint');
    // A refusal already shown is the same reason; the server's reads in the
    // agent's language too when it names its message, as the network's rules do.
    const shown = err.code === 'not_allowed' && hint.classList.contains('refused') && hint.textContent;
    if (!shown) hint.textContent = describe(err);
    hint.classList.add('refused');
    if (err.code !== 'not_allowed') reportError(err);
  } finally {
    button.disabled = false;
  }
}

// --- attachments -------------------------------------------------------------

/** Ids of the files uploaded for this draft. */
function attached(form) {
  return [...form.querySelectorAll('.attachments.pending li[data-upload]')].map((li) => li.dataset.upload);
}

function sizeText(bytes) {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${bytes} B`;
}

/** Uploads a file at once (the bytes go straight to Hark) and shows it as a chip. */
async function attach(form, file) {
  const list = form.querySelector('.attachments.pending');
  const chip = document.createElement('li');
  chip.className = 'attachment uploading';
  chip.textContent = t('attachment-uploading', { name: file.name });
  list.append(chip);
  try {
    const response = await fetch(`/api/v1/uploads?name=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json',
        'Content-Type': file.type || 'application/octet-stream',
        'X-CSRF-Token': boot.csrf,
      },
      body: file,
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || { code: 'error', message: response.statusText };
      throw ApiError.of(response.status, error);
    }
    chip.dataset.upload = data.id;
    chip.classList.remove('uploading');
    const name = document.createElement('span');
    name.textContent = data.name;
    name.dir = 'auto';
    const size = document.createElement('span');
    size.className = 'size';
    size.textContent = sizeText(data.size);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'link remove';
    remove.textContent = '×';
    remove.title = t('attachment-remove', { name: data.name });
    remove.setAttribute('aria-label', remove.title);
    chip.replaceChildren(name, size, remove);
    checkAttachments(form);
  } catch (err) {
    chip.remove();
    const hint = form.querySelector('.mode-hint');
    hint.textContent = describe(err);
    hint.classList.add('refused');
  }
}

/** Asks whether the network takes the attached files in the current mode, and says why not. */
async function checkAttachments(form) {
  const files = attached(form);
  const mode = form.dataset.mode;
  if (!files.length || mode === 'note') return;
  try {
    const id = encodeURIComponent(form.dataset.conversation);
    const text = encodeURIComponent(form.querySelector('textarea').value.trim());
    const choices = await api('GET', `/api/v1/conversations/${id}/reply-options?text=${text}&attachments=${files.join(',')}`);
    const choice = choices.find((c) => c.visibility === mode);
    if (choice && !choice.allowed && form.dataset.mode === mode) {
      const hint = form.querySelector('.mode-hint');
      hint.textContent = choice.reason_key ? t(`refusal-${choice.reason_key}`, choice.reason_args) : choice.reason || '';
      hint.classList.add('refused');
    }
  } catch (err) {
    reportError(err);
  }
}

// --- "be human, not a template" ---------------------------------------------

const SIMILAR_WAIT_MS = 400;

/** Asks, once typing pauses, how close a public draft is to recent public replies. */
function checkSimilar(form) {
  clearTimeout(form.similarTimer);
  const box = form.querySelector('.similar');
  const text = form.querySelector('textarea').value.trim();
  if (form.dataset.mode !== 'public' || text.length < 20) {
    box.hidden = true;
    return;
  }
  form.similarTimer = setTimeout(async () => {
    try {
      const id = encodeURIComponent(form.dataset.conversation);
      const report = await api('GET', `/api/v1/conversations/${id}/similar-replies?text=${encodeURIComponent(text)}`);
      if (form.querySelector('textarea').value.trim() !== text) return;
      const similar = report.similarity >= report.threshold;
      box.textContent = similar ? t('similar', { percent: Math.round(report.similarity * 100) }) : '';
      box.hidden = !similar;
    } catch {
      box.hidden = true;
    }
  }, SIMILAR_WAIT_MS);
}

// --- snippets --------------------------------------------------------------

function snippetList(form) {
  try {
    return JSON.parse(form.dataset.snippets || '[]');
  } catch {
    return [];
  }
}

function showSnippets(form, query) {
  const picker = form.querySelector('.snippet-picker');
  const list = picker.querySelector('ul');
  const q = query.trim().toLowerCase();
  const found = snippetList(form).filter((s) => !q || s.name.toLowerCase().includes(q) || s.text.toLowerCase().includes(q));
  list.replaceChildren(
    ...found.slice(0, 30).map((s, i) => {
      const li = document.createElement('li');
      li.dataset.snippet = s.id;
      if (i === 0) li.classList.add('current');
      const name = document.createElement('strong');
      name.textContent = s.name;
      const text = document.createElement('span');
      text.textContent = s.text;
      li.append(name, text);
      return li;
    }),
  );
  picker.querySelector('.empty').hidden = found.length > 0;
}

async function insertSnippet(form, snippetId) {
  const id = form.dataset.conversation;
  try {
    const rendered = await api(
      'GET',
      `/api/v1/snippets/${encodeURIComponent(snippetId)}/render?conversation_id=${encodeURIComponent(id)}`,
    );
    insertText(form.querySelector('textarea'), rendered.text);
    const hint = form.querySelector('.mode-hint');
    if (rendered.missing.length) {
      hint.textContent = t('missing-variables', { names: rendered.missing.join(', ') });
      hint.classList.add('refused');
    }
  } catch (err) {
    reportError(err);
  }
  form.querySelector('.snippet-picker').hidden = true;
  updateCounter(form);
}

function insertText(textarea, text) {
  const { selectionStart: start, selectionEnd: end, value } = textarea;
  textarea.value = value.slice(0, start) + text + value.slice(end);
  textarea.selectionStart = textarea.selectionEnd = start + text.length;
  textarea.focus();
}

// --- mentions --------------------------------------------------------------

function mentionQuery(textarea) {
  const before = textarea.value.slice(0, textarea.selectionStart);
  const m = /(^|\s)@([\p{L}\p{N}._-]*)$/u.exec(before);
  return m ? m[2] : null;
}

function showMentions(form) {
  const textarea = form.querySelector('textarea');
  const picker = form.querySelector('.mention-picker');
  const q = mentionQuery(textarea);
  if (q === null || form.dataset.mode !== 'note') {
    picker.hidden = true;
    return;
  }
  const lower = q.toLowerCase();
  const found = (boot.users || []).filter((u) => u.id !== boot.me.id && (u.name.toLowerCase().includes(lower) || u.email.toLowerCase().startsWith(lower)));
  const list = picker.querySelector('ul');
  list.replaceChildren(
    ...found.slice(0, 8).map((u, i) => {
      const li = document.createElement('li');
      li.dataset.mention = u.name.split(/\s+/)[0];
      if (i === 0) li.classList.add('current');
      const name = document.createElement('strong');
      name.textContent = u.name;
      const mail = document.createElement('span');
      mail.textContent = u.email;
      li.append(name, mail);
      return li;
    }),
  );
  picker.hidden = found.length === 0;
}

function completeMention(form, word) {
  const textarea = form.querySelector('textarea');
  const q = mentionQuery(textarea) ?? '';
  const start = textarea.selectionStart - q.length;
  textarea.setSelectionRange(start, textarea.selectionStart);
  insertText(textarea, `${word} `);
  form.querySelector('.mention-picker').hidden = true;
}

function movePicker(picker, step) {
  const items = [...picker.querySelectorAll('li')];
  if (!items.length) return;
  const index = Math.max(0, items.findIndex((li) => li.classList.contains('current')));
  items[index].classList.remove('current');
  items[(index + step + items.length) % items.length].classList.add('current');
}

/** Starts "move to private": private mode, with the public answer offered. */
export function startMoveToPrivate(form) {
  form.dataset.moving = 'true';
  setMode(form, 'private');
  if (form.dataset.mode === 'private') {
    form.querySelector('.move-private').hidden = false;
    form.querySelector('textarea').focus();
  }
}

export function focusComposer(mode) {
  const form = document.querySelector('.composer');
  if (!form) return;
  if (mode) setMode(form, mode);
  form.querySelector('textarea').focus();
}

/** Wires a composer (called whenever a conversation pane appears). */
export function init(form, onTyping) {
  if (!form || form.dataset.ready) return;
  form.dataset.ready = 'true';
  const textarea = form.querySelector('textarea');
  setMode(form, form.dataset.mode);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send(form);
  });
  form.querySelector('.modes').addEventListener('click', (event) => {
    const tab = event.target.closest('[data-mode]');
    if (tab) {
      if (tab.dataset.mode !== 'private') form.dataset.moving = 'false';
      setMode(form, tab.dataset.mode);
    }
  });
  textarea.addEventListener('input', () => {
    updateCounter(form);
    showMentions(form);
    checkSimilar(form);
    if (onTyping) onTyping(textarea.value.length > 0);
  });
  textarea.addEventListener('keydown', (event) => {
    const picker = [form.querySelector('.mention-picker'), form.querySelector('.snippet-picker')].find((p) => !p.hidden);
    if (picker && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
      event.preventDefault();
      movePicker(picker, event.key === 'ArrowDown' ? 1 : -1);
      return;
    }
    if (picker && event.key === 'Enter' && !event.ctrlKey && !event.metaKey) {
      const current = picker.querySelector('li.current');
      if (current) {
        event.preventDefault();
        if (current.dataset.mention) completeMention(form, current.dataset.mention);
        else insertSnippet(form, current.dataset.snippet);
      }
      return;
    }
    if (event.key === 'Escape' && picker) {
      picker.hidden = true;
      return;
    }
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      send(form);
    }
  });
  const snippetPicker = form.querySelector('.snippet-picker');
  const snippetSearch = snippetPicker.querySelector('input');
  form.querySelector('[data-action="snippets"]').addEventListener('click', () => {
    snippetPicker.hidden = !snippetPicker.hidden;
    if (!snippetPicker.hidden) {
      showSnippets(form, '');
      snippetSearch.value = '';
      snippetSearch.focus();
    }
  });
  snippetSearch.addEventListener('input', () => showSnippets(form, snippetSearch.value));
  snippetSearch.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      movePicker(snippetPicker, event.key === 'ArrowDown' ? 1 : -1);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      const current = snippetPicker.querySelector('li.current');
      if (current) insertSnippet(form, current.dataset.snippet);
    } else if (event.key === 'Escape') {
      snippetPicker.hidden = true;
      textarea.focus();
    }
  });
  snippetPicker.addEventListener('click', (event) => {
    const li = event.target.closest('li[data-snippet]');
    if (li) insertSnippet(form, li.dataset.snippet);
  });
  form.querySelector('.mention-picker').addEventListener('click', (event) => {
    const li = event.target.closest('li[data-mention]');
    if (li) completeMention(form, li.dataset.mention);
  });
  const fileInput = form.querySelector('.attach-input');
  form.querySelector('[data-action="attach"]').addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    for (const file of fileInput.files) attach(form, file);
    fileInput.value = '';
  });
  form.querySelector('.attachments.pending').addEventListener('click', (event) => {
    const remove = event.target.closest('button.remove');
    if (!remove) return;
    remove.closest('li').remove();
    setMode(form, form.dataset.mode);
  });
  form.querySelector('[data-action="mention"]').addEventListener('click', () => {
    setMode(form, 'note');
    insertText(textarea, '@');
    showMentions(form);
  });
}
