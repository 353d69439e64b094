/**
 * A tiny element builder. Text always goes in through textContent (never innerHTML):
 * transcripts and library text are untrusted.
 */

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = String(v);
    else if (k === "text") el.textContent = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/** `document.getElementById` that throws a clear error when the page is not what the code expects. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`cuecard: missing element #${id}`);
  return el as T;
}

/** Sets text only when it changed (no needless layout, no flicker). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** A status line: role=status/alert elements get their text replaced. */
export function say(el: HTMLElement, text: string, kind: "info" | "error" | "ok" = "info"): void {
  el.dataset.kind = kind;
  setText(el, text);
}

/** Shows or hides an element, touching the DOM only when that changes. */
export function setHidden(el: HTMLElement, hidden: boolean): void {
  if (el.hidden !== hidden) el.hidden = hidden;
}
