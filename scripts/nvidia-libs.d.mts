// Types of nvidia-libs.mjs, for the TypeScript tests.
export interface Requirement {
  name: string;
  spec: string;
}
export function requiredDists(metadataText: string): Requirement[];
export function satisfies(version: string, spec: string): boolean;
export function installedDists(sitePackages: string): Map<string, string>;
export function unmetRequirements(requirements: Requirement[], sitePackages: string): string[];
export const RUNTIME_COMPILE_HEADERS: Record<"cuda12" | "cuda13", Requirement[]>;
export function provideNvidiaLibs(options: {
  dest: string;
  distInfo: string;
  headers?: Requirement[];
  python: string;
  run: (cmd: string, args: string[]) => void;
  env?: Record<string, string | undefined>;
}): void;
