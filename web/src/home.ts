// The command center: the loaded model, the model picker (shipped fixtures, models in the Hugging
// Face cache, a folder path, a Hub id to download) and the explorers.
import type { CatalogEntry, DownloadChunk, Health, ModelInfo, ModelState } from "../../src/server/protocol.ts";
import { downloadStream, getJson, postJson } from "./api.ts";
import type { Explorer } from "./shell.ts";
import { element } from "./shell.ts";

export function mountHome(root: HTMLElement, explorers: readonly Explorer[], onModelChange: () => void): void {
  root.replaceChildren();
  const section = element("section", { class: "home", "data-explorer": "home" });
  section.append(element("h1", {}, "Command center"));

  const modelBox = element("div", { class: "card model-card" });
  const facts = element("dl", { class: "facts" });
  const error = element("p", { class: "error", role: "alert" });
  const health = element("p", { class: "health" });
  modelBox.append(element("h2", {}, "Model"), facts, error, health);

  const picker = element("form", { class: "picker" });
  const select = element("select", { name: "catalog" });
  const path = element("input", { type: "text", name: "path", placeholder: "or a folder path / cached Hub id" });
  const load = element("button", { type: "submit" }, "Load");
  const loadStatus = element("span", { class: "status", role: "status" });
  picker.append(select, path, load, loadStatus);
  // A Hub id: downloaded into the server's Hugging Face cache with progress, then loaded.
  const hubForm = element("form", { class: "picker hub" });
  const hubId = element("input", { type: "text", name: "hub", placeholder: "or a Hub id to download (owner/name)" });
  const fetchButton = element("button", { type: "submit" }, "Download and load");
  const cancel = element("button", { type: "button", class: "cancel", hidden: "" }, "Cancel");
  const bar = element("progress", { class: "download", max: "1", value: "0", hidden: "" });
  const downloadStatus = element("span", { class: "status download-status", role: "status" });
  hubForm.append(hubId, fetchButton, cancel, bar, downloadStatus);
  modelBox.append(picker, hubForm);

  const list = element("div", { class: "cards" });
  for (const explorer of explorers) {
    const card = element("a", { class: "card explorer-card", href: `#/${explorer.id}` });
    card.append(element("h3", {}, explorer.title), element("p", {}, explorer.blurb));
    list.append(card);
  }
  section.append(modelBox, element("h2", {}, "Explorers"), list);
  root.append(section);

  let pickerError: string | undefined;
  const showState = (state: ModelState) => {
    facts.replaceChildren();
    const info: ModelInfo | undefined = state.model;
    if (info) {
      const rows: [string, string][] = [
        ["name", info.name],
        ["architecture", info.architecture],
        ["layers", String(info.layers)],
        ["heads", `${info.heads} (${info.kvHeads} key/value)`],
        ["width", String(info.dModel)],
        ["vocabulary", String(info.vocabSize)],
        ["computes in", info.dtype],
        ["why", info.computeReason],
        ["quantized", info.quantized ? `yes: ${info.storage}` : "no"],
        ["weights", mib(info.weightBytes)],
        ["MLX memory", mib(info.activeBytes)],
      ];
      for (const [k, v] of rows) facts.append(element("dt", {}, k), element("dd", { "data-fact": k }, v));
    }
    // A load refused before it reached the model (404) is not in the server's state: keep showing it.
    error.textContent =
      pickerError ?? (state.lastError ? `Could not load ${state.lastError.model}: ${state.lastError.message}` : "");
    if (state.loading) loadStatus.textContent = `loading ${state.loading}…`;
  };

  const refresh = async () => {
    showState(await getJson<ModelState>("/api/model"));
    const h = await getJson<Health>("/api/health");
    health.textContent = `server ok · ${h.busy ? "computing" : "idle"} · ${h.queued} waiting`;
  };
  void refresh();
  void getJson<CatalogEntry[]>("/api/models").then((entries) => {
    select.append(element("option", { value: "" }, "choose a model…"));
    for (const source of ["fixture", "hub-cache"] as const) {
      const group = element("optgroup", { label: source === "fixture" ? "Shipped fixtures" : "Hugging Face cache" });
      for (const entry of entries.filter((e) => e.source === source)) {
        group.append(element("option", { value: entry.model }, entry.label));
      }
      if (group.children.length) select.append(group);
    }
  });

  picker.addEventListener("submit", (event) => {
    event.preventDefault();
    const model = path.value.trim() || select.value;
    if (!model) return;
    load.disabled = true;
    pickerError = undefined;
    loadStatus.textContent = `loading ${model}…`;
    postJson<ModelInfo>("/api/model", { model })
      .then((info) => {
        loadStatus.textContent = `loaded ${info.name}`;
        onModelChange();
      })
      .catch((e: unknown) => {
        loadStatus.textContent = "";
        pickerError = e instanceof Error ? e.message : String(e);
        error.textContent = pickerError;
      })
      .finally(() => {
        load.disabled = false;
        void refresh().catch(() => undefined);
      });
  });

  let downloading: AbortController | undefined;
  cancel.addEventListener("click", () => downloading?.abort());
  hubForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const model = hubId.value.trim();
    if (!model || downloading) return;
    const controller = new AbortController();
    downloading = controller;
    fetchButton.disabled = true;
    cancel.hidden = false;
    bar.hidden = false;
    bar.value = 0;
    pickerError = undefined;
    error.textContent = "";
    downloadStatus.textContent = `asking the Hub for ${model}…`;
    const onChunk = (data: unknown) => {
      const p = (data as DownloadChunk).download;
      bar.value = p.totalBytes > 0 ? p.bytes / p.totalBytes : 0;
      downloadStatus.textContent = `${p.file} (file ${p.filesDone + (p.fileBytes < p.fileTotal ? 1 : 0)} of ${p.filesTotal}) · ${mib(p.bytes)} of ${mib(p.totalBytes)}`;
    };
    const onStarted = () => {
      downloadStatus.textContent = `downloaded; loading ${model}…`;
    };
    downloadStream({ model }, { onChunk, onStarted }, controller.signal)
      .then((info) => {
        downloadStatus.textContent = info === undefined ? "cancelled" : `loaded ${(info as ModelInfo).name}`;
        if (info !== undefined) onModelChange();
      })
      .catch((e: unknown) => {
        downloadStatus.textContent = "";
        pickerError = e instanceof Error ? e.message : String(e);
        error.textContent = pickerError;
      })
      .finally(() => {
        downloading = undefined;
        fetchButton.disabled = false;
        cancel.hidden = true;
        bar.hidden = true;
        void refresh().catch(() => undefined);
      });
  });
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
