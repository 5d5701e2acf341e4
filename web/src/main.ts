// The app: a command center and one page per explorer, chosen by the address (#/lens ...), with
// the keyboard shortcuts and the light/dark switch.
import "./style.css";
import type { ModelState } from "../../src/server/protocol.ts";
import { getJson } from "./api.ts";
import { EXPLORERS } from "./explorers/index.ts";
import { mountHome } from "./home.ts";
import { element, type Mounted, mountExplorer } from "./shell.ts";
import { currentRoute } from "./url-state.ts";

const view = document.getElementById("view") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const badge = document.getElementById("model-badge") as HTMLElement;
let mounted: Mounted | undefined;

for (const explorer of EXPLORERS)
  nav.append(element("a", { href: `#/${explorer.id}`, "data-page": explorer.id }, explorer.title));

function route(): void {
  // Our own edits of the address (the inputs as they are typed) use replaceState, which fires no
  // hashchange: this runs for a link followed or an address typed, which restores its inputs.
  const { page } = currentRoute();
  mounted?.stop();
  mounted = undefined;
  for (const link of nav.querySelectorAll("a")) link.classList.toggle("current", link.dataset.page === page);
  const explorer = EXPLORERS.find((e) => e.id === page);
  if (explorer) mounted = mountExplorer(view, explorer);
  else mountHome(view, EXPLORERS, refreshBadge);
}

export async function refreshBadge(): Promise<void> {
  try {
    const state = await getJson<ModelState>("/api/model");
    badge.textContent = state.model ? `${state.model.name.split("/").pop()} · ${state.model.architecture}` : "no model";
    badge.title = state.model?.path ?? "";
  } catch {
    badge.textContent = "server unreachable";
  }
}

document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    mounted?.run();
  } else if (event.key === "Escape") {
    mounted?.stop();
  }
});

// The theme: the one chosen here (remembered), else the system's, followed as it changes.
const themeButton = document.getElementById("theme") as HTMLButtonElement;
const systemDark = matchMedia("(prefers-color-scheme: dark)");
const applyTheme = () => {
  document.documentElement.dataset.theme =
    localStorage.getItem("mlux-theme") ?? (systemDark.matches ? "dark" : "light");
};
applyTheme();
systemDark.addEventListener("change", applyTheme);
themeButton.addEventListener("click", () => {
  localStorage.setItem("mlux-theme", document.documentElement.dataset.theme === "dark" ? "light" : "dark");
  applyTheme();
});

window.addEventListener("hashchange", route);
// An explorer switched the model (the binding explorer offers its fixture).
window.addEventListener("mlux:model", () => void refreshBadge());
route();
void refreshBadge();
