// The norm layers a family builds its blocks with, as factories of (width, eps).
import { type FeatureNorm, RMSNorm } from "../../nn/layers/normalization.ts";
import type { Module } from "../../nn/module.ts";

/** A normalization layer: one array in, one out, with what analysis needs to apply it (FeatureNorm). */
export type NormLayer = Module & FeatureNorm;

/** Makes a normalization layer over `dims` features. */
export type NormFactory = (dims: number, eps: number) => NormLayer;

export const rmsNorm: NormFactory = (dims, eps) => new RMSNorm(dims, eps);

/** RMSNorm scaling by (1 + weight) (the Gemma line). */
export const rmsNormPlusOne: NormFactory = (dims, eps) => new RMSNorm(dims, eps, { weightPlusOne: true });
