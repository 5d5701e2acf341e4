// The frame every explorer shares: its inputs (read from and written to the address), Run and Stop
// (Ctrl/Cmd+Enter and Esc), the queue status, the figure, and export of the figure and the data.
import type { RunKind, RunRequests } from "../../src/server/protocol.ts";
import { runStream } from "./api.ts";
import { saveCsv, saveJson, savePng, saveSvg } from "./export.ts";
import { currentRoute, writeParams } from "./url-state.ts";

export interface Field {
  name: string;
  label: string;
  kind: "text" | "textarea" | "number" | "select";
  initial: string;
  options?: readonly string[];
  min?: number;
  max?: number;
  step?: number;
  title?: string;
}

export interface Exports {
  /** The figure to save as SVG or PNG. */
  figure?: () => SVGSVGElement | null | undefined;
  json?: unknown;
  csv?: () => (string | number)[][];
}

export interface RunContext {
  figure: HTMLElement;
  signal: AbortSignal;
  /** Runs a computation on the server, showing the queue position while it waits. */
  stream<K extends RunKind>(kind: K, body: RunRequests[K], onChunk?: (data: unknown) => void): Promise<unknown>;
  setExports(exports: Exports): void;
  status(text: string): void;
}

export interface Explorer {
  id: string;
  title: string;
  blurb: string;
  fields: Field[];
  /** Extra controls under the inputs (a chat-template button, token chips); may read and set the inputs. */
  controls?(inputs: Inputs): HTMLElement;
  run(values: Record<string, string>, context: RunContext): Promise<void>;
}

export interface Inputs {
  get(name: string): string;
  set(name: string, value: string): void;
  onChange(listener: () => void): void;
}

export interface Mounted {
  run(): void;
  stop(): void;
}

export function mountExplorer(root: HTMLElement, explorer: Explorer): Mounted {
  const { params } = currentRoute();
  root.replaceChildren();
  const section = element("section", { class: "explorer", "data-explorer": explorer.id });
  section.append(element("h1", {}, explorer.title), element("p", { class: "blurb" }, explorer.blurb));
  const form = element("form", { class: "inputs" });
  const controls: Record<string, HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement> = {};
  const listeners: (() => void)[] = [];
  for (const field of explorer.fields) {
    const label = element("label", { class: `field field-${field.kind}` });
    label.append(element("span", {}, field.label));
    let control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
    if (field.kind === "textarea") {
      control = element("textarea", { rows: "3", spellcheck: "false" });
    } else if (field.kind === "select") {
      control = element("select");
      for (const option of field.options ?? []) control.append(element("option", { value: option }, option));
    } else {
      control = element("input", { type: field.kind === "number" ? "number" : "text" });
      if (field.min !== undefined) control.setAttribute("min", String(field.min));
      if (field.max !== undefined) control.setAttribute("max", String(field.max));
      if (field.step !== undefined) control.setAttribute("step", String(field.step));
    }
    control.name = field.name;
    if (field.title) control.title = field.title;
    control.value = params.get(field.name) ?? field.initial;
    control.addEventListener("input", () => {
      remember();
      for (const listener of listeners) listener();
    });
    controls[field.name] = control;
    label.append(control);
    form.append(label);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    start();
  });
  const values = () => Object.fromEntries(Object.entries(controls).map(([name, c]) => [name, c.value]));
  const remember = () => writeParams(explorer.id, values());
  const inputs: Inputs = {
    get: (name) => controls[name]?.value ?? "",
    set: (name, value) => {
      const control = controls[name];
      if (control === undefined) return;
      control.value = value;
      remember();
      for (const listener of listeners) listener();
    },
    onChange: (listener) => listeners.push(listener),
  };

  const bar = element("div", { class: "bar" });
  const runButton = element("button", { type: "submit", class: "run", title: "Ctrl/Cmd+Enter" }, "Run");
  const stopButton = element("button", { type: "button", class: "stop", title: "Esc", disabled: "" }, "Stop");
  const status = element("span", { class: "status", role: "status" });
  bar.append(runButton, stopButton, status);
  form.append(bar);
  section.append(form);
  if (explorer.controls) section.append(explorer.controls(inputs));

  const exportBar = element("div", { class: "exports" });
  const figure = element("div", { class: "figure" });
  section.append(exportBar, figure);
  root.append(section);

  let exports: Exports = {};
  const exportButton = (label: string, act: () => void, enabled: () => boolean) => {
    const button = element("button", { type: "button", class: `export-${label.toLowerCase()}` }, label);
    button.addEventListener("click", act);
    return { button, enabled };
  };
  const name = () => `mlux-${explorer.id}`;
  const buttons = [
    exportButton(
      "SVG",
      () => saveSvg(exports.figure?.() as SVGSVGElement, name()),
      () => !!exports.figure?.(),
    ),
    exportButton(
      "PNG",
      () => void savePng(exports.figure?.() as SVGSVGElement, name()),
      () => !!exports.figure?.(),
    ),
    exportButton(
      "JSON",
      () => saveJson(exports.json, name()),
      () => exports.json !== undefined,
    ),
    exportButton(
      "CSV",
      () => saveCsv(exports.csv?.() ?? [], name()),
      () => exports.csv !== undefined,
    ),
  ];
  exportBar.append(element("span", {}, "Export"), ...buttons.map((b) => b.button));
  const refreshExports = () => {
    for (const b of buttons) b.button.disabled = !b.enabled();
  };
  refreshExports();

  let controller: AbortController | undefined;
  const setStatus = (text: string) => {
    status.textContent = text;
  };
  function start() {
    if (controller) return;
    remember();
    controller = new AbortController();
    const signal = controller.signal;
    runButton.disabled = true;
    stopButton.disabled = false;
    section.dataset.state = "running";
    exports = {};
    refreshExports();
    setStatus("sending");
    const context: RunContext = {
      figure,
      signal,
      stream: (kind, body, onChunk) =>
        runStream(
          kind,
          body,
          {
            onQueued: (position) => setStatus(`waiting: ${position} ahead in the queue`),
            onStarted: () => setStatus("computing"),
            onProgress: (done, total) => setStatus(`computing: ${done} of ${total} steps`),
            onChunk: (data) => onChunk?.(data),
          },
          signal,
        ),
      setExports: (next) => {
        exports = next;
        refreshExports();
      },
      status: setStatus,
    };
    explorer
      .run(values(), context)
      .then(() => setStatus(signal.aborted ? "stopped" : "done"))
      .catch((error: unknown) => {
        setStatus(`error: ${error instanceof Error ? error.message : String(error)}`);
        section.dataset.error = "1";
      })
      .finally(() => {
        controller = undefined;
        runButton.disabled = false;
        stopButton.disabled = true;
        section.dataset.state = signal.aborted ? "stopped" : "done";
      });
    delete section.dataset.error;
  }
  function stop() {
    controller?.abort();
  }
  stopButton.addEventListener("click", stop);
  return { run: start, stop };
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A token as a reader can see it: spaces and newlines made visible. */
export function showToken(token: string): string {
  return token.replaceAll(" ", "·").replaceAll("\n", "↵");
}
