// Types of mlx-backend.mjs, for the TypeScript tests.
export interface DriverProbe {
  hasKernelModule(): boolean;
  smiDriverVersion(): string | null;
}
export interface Backend {
  name: "cpu" | "cuda12" | "cuda13" | "metal";
  wheel: string;
  reason: string;
}
export const LINUX_BACKENDS: Record<"cpu" | "cuda12" | "cuda13", { wheel: string; minDriver: number | null }>;
export function nvidiaDriverMajor(probe?: DriverProbe): number | null;
export function chooseBackend(options?: {
  env?: Record<string, string | undefined>;
  platform?: string;
  probe?: DriverProbe;
}): Backend;
