// The device MLX computes on: "cpu" everywhere, "gpu" with Metal on Apple silicon.
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

/** Makes `device` the default; throws if this MLX build has no such device (Linux has no gpu). */
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
