/** Filling <select>s without losing the user's choice. */
import type { AudioDevice } from "../ipc/contract";

export function fillSelect(sel: HTMLSelectElement, options: { value: string; label: string }[], selected: string | null): void {
  const keep = sel.options.length > 0 ? sel.value : (selected ?? "");
  sel.replaceChildren(...options.map((o) => new Option(o.label, o.value)));
  if (options.some((o) => o.value === keep)) sel.value = keep;
}

/** "" means the system default device. */
export function fillDevices(sel: HTMLSelectElement, devices: AudioDevice[], selected: string | null): void {
  const def = devices.find((d) => d.is_default);
  fillSelect(
    sel,
    [
      { value: "", label: def ? `System default (${def.name})` : "System default" },
      ...devices.map((d) => ({ value: d.id, label: d.name })),
    ],
    selected,
  );
}
