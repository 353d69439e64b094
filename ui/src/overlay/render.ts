/**
 * Overlay DOM rendering. Reads state, writes the DOM in place: the same elements are
 * reused when a card is updated or replaced, so a new objection never flickers.
 */
import type { Hotkeys } from "../ipc/contract";
import type { CardState } from "../lib/cardState";
import { byId, h, setHidden, setText } from "../lib/dom";
import { keyLabel } from "../lib/hotkeys";
import type { TickerSegment } from "../lib/transcript";

export interface OverlayEls {
  card: HTMLElement;
  category: HTMLElement;
  title: HTMLElement;
  pinned: HTMLElement;
  helpful: HTMLElement;
  answers: HTMLOListElement;
  why: HTMLElement;
  keys: HTMLElement;
  btnPin: HTMLButtonElement;
  btnHelpful: HTMLButtonElement;
  btnDismiss: HTMLButtonElement;
  idle: HTMLElement;
  ticker: HTMLElement;
  status: HTMLElement;
}

export function overlayEls(): OverlayEls {
  return {
    card: byId("card"),
    category: byId("card-category"),
    title: byId("card-title"),
    pinned: byId("card-pinned"),
    helpful: byId("card-helpful"),
    answers: byId<HTMLOListElement>("card-answers"),
    why: byId("card-why"),
    keys: byId("card-keys"),
    btnPin: byId<HTMLButtonElement>("btn-pin"),
    btnHelpful: byId<HTMLButtonElement>("btn-helpful"),
    btnDismiss: byId<HTMLButtonElement>("btn-dismiss"),
    idle: byId("idle"),
    ticker: byId("ticker"),
    status: byId("overlay-status"),
  };
}

function answerItem(): HTMLLIElement {
  return h("li", { class: "answer" }, h("span", { class: "answer-kind" }), h("span", { class: "answer-text" }));
}

export function renderCard(els: OverlayEls, s: CardState): void {
  const card = s.card;
  els.card.dataset.phase = s.phase;
  els.card.dataset.serial = String(s.serial);
  if (card === null) {
    setHidden(els.card, true);
    setHidden(els.idle, false);
    return;
  }
  setHidden(els.idle, true);
  setHidden(els.card, false);
  els.card.dataset.objection = card.objection_id;
  setText(els.category, card.category);
  setText(els.title, card.title);
  setHidden(els.pinned, !s.pinned);
  setHidden(els.helpful, !s.helpful);
  els.card.classList.toggle("is-pinned", s.pinned);
  els.btnPin.setAttribute("aria-pressed", String(s.pinned));
  els.btnHelpful.setAttribute("aria-pressed", String(s.helpful));
  setText(els.btnPin, s.pinned ? "Unpin" : "Pin");

  // Reuse the <li>s; add or drop only the difference.
  const list = els.answers;
  while (list.children.length < card.responses.length) list.append(answerItem());
  while (list.children.length > card.responses.length) list.lastElementChild?.remove();
  card.responses.forEach((r, i) => {
    const li = list.children[i] as HTMLLIElement;
    const current = i === s.answer;
    li.classList.toggle("current", current);
    li.classList.toggle("used", s.used.includes(r.id));
    if (current) li.setAttribute("aria-current", "true");
    else li.removeAttribute("aria-current");
    li.dataset.responseId = r.id;
    setText(li.children[0]!, r.kind);
    setText(li.children[1]!, r.text);
  });

  setText(els.why, card.why);
  els.why.title = card.why;
}

export function renderKeys(els: OverlayEls, keys: Hotkeys): void {
  setText(
    els.keys,
    `${keyLabel(keys.next)} next · ${keyLabel(keys.dismiss)} dismiss · ${keyLabel(keys.pin)} pin · ${keyLabel(keys.helpful)} helpful`,
  );
}

export function renderTicker(els: OverlayEls, segments: readonly TickerSegment[]): void {
  const t = els.ticker;
  // Update in place by key; the ticker holds a handful of spans at most.
  const existing = new Map<string, HTMLElement>();
  for (const c of Array.from(t.children) as HTMLElement[]) existing.set(c.dataset.key ?? "", c);
  const wanted: HTMLElement[] = segments.map((seg) => {
    const el = existing.get(seg.key) ?? h("span", { class: "seg" });
    el.dataset.key = seg.key;
    el.dataset.speaker = seg.speaker;
    el.classList.toggle("partial", !seg.final);
    el.classList.toggle("cut", seg.cut);
    setText(el, seg.cut ? `…${seg.text}` : seg.text);
    return el;
  });
  const same = wanted.length === t.children.length && wanted.every((el, i) => t.children[i] === el);
  if (!same) t.replaceChildren(...wanted);
}
