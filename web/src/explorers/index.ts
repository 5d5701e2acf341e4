// The explorers, in the order the command center lists them. A new explorer is a module here with
// an Explorer (shell.ts) and a line in this list; its computation is a job in src/server/compute/.
import type { Explorer } from "../shell.ts";
import { ablationExplorer } from "./ablation.ts";
import { attentionExplorer } from "./attention.ts";
import { bindingExplorer } from "./binding.ts";
import { headsExplorer } from "./heads.ts";
import { lensExplorer } from "./lens.ts";
import { patchingExplorer } from "./patching.ts";
import { playgroundExplorer } from "./playground.ts";
import { steeringExplorer } from "./steering.ts";

export const EXPLORERS: readonly Explorer[] = [
  lensExplorer,
  playgroundExplorer,
  attentionExplorer,
  headsExplorer,
  patchingExplorer,
  ablationExplorer,
  steeringExplorer,
  bindingExplorer,
];
