// The device MLX computes on: "cpu" everywhere, "gpu" with Metal on Apple silicon or with the CUDA
// build on an NVIDIA GPU (where MLX makes the gpu the default). MLUX_DEVICE=cpu|gpu sets the
// default for a whole process (a test run, a benchmark) without changing its code.
import { nativeFunctions } from "./native.ts";
import { describe } from "./operand.ts";

const n = nativeFunctions("defaultDevice", "isAvailable", "setDefaultDevice", "synchronize");

export type Device = "cpu" | "gpu";

function deviceArg(device: Device): Device {
  if (device !== "cpu" && device !== "gpu") {
    throw new TypeError(`device must be "cpu" or "gpu", got ${describe(device)}`);
  }
  return device;
}

/** The device new operations run on. */
export function defaultDevice(): Device {
  return n.defaultDevice() as Device;
}

/** Makes `device` the default; throws if this MLX build has no such device (mlx-cpu has no gpu). */
export function setDefaultDevice(device: Device): void {
  n.setDefaultDevice(deviceArg(device));
}

/** Whether this MLX build can compute on `device`. */
export function isAvailable(device: Device): boolean {
  return n.isAvailable(deviceArg(device)) as boolean;
}

/** Blocks until all work scheduled on the default device's stream is done. */
export function synchronize(): void {
  n.synchronize();
}

const fromEnvironment = process.env.MLUX_DEVICE;
if (fromEnvironment !== undefined && fromEnvironment !== "") {
  if (fromEnvironment !== "cpu" && fromEnvironment !== "gpu") {
    throw new Error(`MLUX_DEVICE must be "cpu" or "gpu" (or unset), got "${fromEnvironment}"`);
  }
  setDefaultDevice(fromEnvironment);
}
