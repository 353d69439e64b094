/** WAI-ARIA tabs: click or arrow keys / Home / End to switch; one tab stop. */
import { byId } from "../lib/dom";

export type TabName = "live" | "replay" | "models" | "library" | "history" | "settings";

export function initTabs(onShow: (name: TabName) => void): (name: TabName) => void {
  const list = document.querySelector<HTMLElement>('[role="tablist"]');
  if (!list) throw new Error("cuecard: no tablist");
  const tabs = Array.from(list.querySelectorAll<HTMLButtonElement>('[role="tab"]'));

  function show(name: TabName, focus = false): void {
    for (const t of tabs) {
      const on = t.id === `tab-${name}`;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      byId(t.getAttribute("aria-controls") ?? "").hidden = !on;
      if (on && focus) t.focus();
    }
    onShow(name);
  }

  const nameOf = (t: HTMLElement) => t.id.replace(/^tab-/, "") as TabName;

  list.addEventListener("click", (e) => {
    const t = (e.target as HTMLElement).closest<HTMLButtonElement>('[role="tab"]');
    if (t) show(nameOf(t));
  });
  list.addEventListener("keydown", (e) => {
    const i = tabs.indexOf(document.activeElement as HTMLButtonElement);
    if (i < 0) return;
    let j: number | null = null;
    if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
    else if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === "Home") j = 0;
    else if (e.key === "End") j = tabs.length - 1;
    if (j === null) return;
    e.preventDefault();
    show(nameOf(tabs[j]!), true);
  });

  return (name) => show(name);
}
