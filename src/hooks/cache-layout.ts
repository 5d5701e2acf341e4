// A model's standard-name layout held as data: as StandardNames finds it on a live model, or as a
// saved cache wrote it down (the CacheLayout the analysis reads).
import type { CacheLayout, HookTarget } from "../analysis/cache-layout.ts";

/** A layout as JSON: the block and attention paths, and every standard key with its target. */
export interface LayoutJSON {
  layerPaths: string[];
  attentionPaths: (string | null)[];
  targets: [key: string, path: string, input: boolean][];
}

export function layoutToJSON(layout: CacheLayout): LayoutJSON {
  return {
    layerPaths: [...layout.layerPaths],
    attentionPaths: layout.attentionPaths.map((p) => p ?? null),
    targets: layout.keys().map((key) => {
      const t = layout.target(key) as HookTarget;
      return [key, t.path, t.input];
    }),
  };
}

/** A layout held as its block paths, attention paths and a table of standard keys. */
export class TargetLayout implements CacheLayout {
  readonly layerPaths: string[];
  readonly attentionPaths: (string | undefined)[];
  protected readonly targets: Map<string, HookTarget>;

  constructor(layerPaths: string[], attentionPaths: (string | undefined)[], targets: Map<string, HookTarget>) {
    this.layerPaths = layerPaths;
    this.attentionPaths = attentionPaths;
    this.targets = targets;
  }

  get layers(): number {
    return this.layerPaths.length;
  }

  /** Every standard key this model has (`embed`, `resid_pre.0`, `pattern.0` ...). */
  keys(): string[] {
    return [...this.targets.keys()];
  }

  /** The target of a standard key, or undefined if the model has no such activation. */
  target(key: string): HookTarget | undefined {
    return this.targets.get(key);
  }
}

/** A layout read back from a saved cache. */
export class SavedLayout extends TargetLayout {
  constructor(json: LayoutJSON) {
    super(
      json.layerPaths,
      json.attentionPaths.map((p) => p ?? undefined),
      new Map(json.targets.map(([key, path, input]) => [key, { path, input }])),
    );
  }

  /** Checks the shape of parsed JSON; `where` names the file in errors. */
  static parse(value: unknown, where: string): SavedLayout {
    const bad = (why: string) => new Error(`${where}: the saved layout is malformed: ${why}`);
    if (typeof value !== "object" || value === null) throw bad("not an object");
    const { layerPaths, attentionPaths, targets } = value as Record<string, unknown>;
    const strings = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === "string");
    if (!strings(layerPaths)) throw bad("layerPaths is not a list of paths");
    if (
      !Array.isArray(attentionPaths) ||
      attentionPaths.length !== (layerPaths as string[]).length ||
      !attentionPaths.every((p) => p === null || typeof p === "string")
    ) {
      throw bad("attentionPaths is not one path (or null) per layer");
    }
    const isTarget = (t: unknown) =>
      Array.isArray(t) &&
      t.length === 3 &&
      typeof t[0] === "string" &&
      typeof t[1] === "string" &&
      typeof t[2] === "boolean";
    if (!Array.isArray(targets) || !targets.every(isTarget)) throw bad("targets is not a list of [key, path, input]");
    return new SavedLayout(value as LayoutJSON);
  }
}

/** True when two layouts name the same blocks, attention modules and standard keys. */
export function sameLayout(a: CacheLayout, b: CacheLayout): boolean {
  return JSON.stringify(layoutToJSON(a)) === JSON.stringify(layoutToJSON(b));
}
