// Typed reading of config.json fields, with errors that name the field and what it must be.
import type { ModelConfig } from "../../load/config.ts";

export class ConfigReader {
  constructor(readonly config: ModelConfig) {}

  number(field: string, fallback?: number): number {
    const value = this.config[field] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new Error(
        `config.json: "${field}" must be a number (model_type ${this.config.model_type}), got ${JSON.stringify(value)}`,
      );
    }
    return value;
  }

  optionalNumber(field: string): number | undefined {
    return this.config[field] === undefined || this.config[field] === null ? undefined : this.number(field);
  }

  boolean(field: string, fallback?: boolean): boolean {
    const value = this.config[field] ?? fallback;
    if (typeof value !== "boolean")
      throw new Error(`config.json: "${field}" must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  object(field: string): Record<string, unknown> | undefined {
    const value = this.config[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) throw new Error(`config.json: "${field}" must be an object`);
    return value as Record<string, unknown>;
  }

  stringList(field: string): string[] | undefined {
    const value = this.config[field];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
      throw new Error(`config.json: "${field}" must be a list of strings`);
    }
    return value as string[];
  }
}
