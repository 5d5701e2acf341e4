// How a binding task is worded, as data: entities each bound to an attribute by one statement, then
// a question that names one entity and is answered by its attribute. The default is the phrasing
// fixtures/entity-binding was trained on; another model gets its own schema.
import type { Tokenizer } from "../../load/tokenizer.ts";

export interface BindingSchema {
  name: string;
  /** What the question names: the query entities ("apple", "pen" ...). Distinct. */
  entities: readonly string[];
  /** What an entity is bound to; the answer is one of these ("A" ... "H"). Distinct. */
  attributes: readonly string[];
  /** One statement per bound pair, with {entity} and {attribute}: "The {entity} is in box {attribute}." */
  statement: string;
  /** The question after the statements, with {entity}: "Which box holds the {entity}? Box" */
  question: string;
  /** What joins the statements to each other and to the question (default " "). */
  separator?: string;
  /**
   * The answer as the model writes it after the prompt, with {attribute}: "{attribute}" (default)
   * for a word-level tokenizer, " {attribute}" where the tokenizer keeps the space in the token.
   * Each attribute must make exactly one token this way.
   */
  answer?: string;
}

/** The fixture's box schema: `The apple is in box C. ... Which box holds the pen? Box` → `A`. */
export const BOX_SCHEMA: BindingSchema = {
  name: "boxes",
  entities: [
    "apple",
    "pen",
    "key",
    "coin",
    "ring",
    "book",
    "cup",
    "hat",
    "shoe",
    "lamp",
    "clock",
    "doll",
    "ball",
    "bell",
    "comb",
    "fork",
    "kite",
    "leaf",
    "map",
    "nut",
    "pipe",
    "rose",
    "sock",
    "toy",
  ],
  attributes: ["A", "B", "C", "D", "E", "F", "G", "H"],
  statement: "The {entity} is in box {attribute}.",
  question: "Which box holds the {entity}? Box",
};

/** An entity bound to an attribute: one statement of a prompt. */
export interface BoundPair {
  entity: string;
  attribute: string;
}

/** The text of a prompt stating `facts` in order and asking about `facts[query]`. */
export function promptText(schema: BindingSchema, facts: readonly BoundPair[], query: number): string {
  const separator = schema.separator ?? " ";
  const statements = facts.map((p) => fill(schema.statement, p.entity, p.attribute));
  const asked = facts[query];
  if (asked === undefined) throw new Error(`query ${query} is not one of the prompt's ${facts.length} facts`);
  return [...statements, fill(schema.question, asked.entity, "")].join(separator);
}

/**
 * The schema checked: distinct entities and attributes, enough of each for prompts of up to
 * `maxGroups` facts and their counterfactuals, and placeholders where they belong.
 */
export function checkSchema(schema: BindingSchema, maxGroups: number): BindingSchema {
  if (typeof schema !== "object" || schema === null) throw new TypeError("schema must be a BindingSchema object");
  const what = `schema "${schema.name}"`;
  for (const [field, list] of [
    ["entities", schema.entities],
    ["attributes", schema.attributes],
  ] as const) {
    if (!Array.isArray(list) || list.some((x) => typeof x !== "string" || x.length === 0)) {
      throw new Error(`${what}: ${field} must be a list of non-empty strings`);
    }
    if (new Set(list).size !== list.length) throw new Error(`${what}: ${field} must be distinct`);
  }
  // A counterfactual keeps one entity of its original and fills its other groups with entities the
  // original lacks; both prompts need distinct attributes.
  if (schema.entities.length < 2 * maxGroups - 1) {
    throw new Error(
      `${what}: prompts of ${maxGroups} facts need at least ${2 * maxGroups - 1} entities (the original's and the counterfactual's new ones), got ${schema.entities.length}`,
    );
  }
  if (schema.attributes.length < maxGroups) {
    throw new Error(
      `${what}: prompts of ${maxGroups} facts need at least ${maxGroups} attributes, got ${schema.attributes.length}`,
    );
  }
  if (typeof schema.statement !== "string" || !schema.statement.includes("{entity}")) {
    throw new Error(
      `${what}: statement must contain {entity} and {attribute}, got ${JSON.stringify(schema.statement)}`,
    );
  }
  if (!schema.statement.includes("{attribute}")) {
    throw new Error(
      `${what}: statement must contain {entity} and {attribute}, got ${JSON.stringify(schema.statement)}`,
    );
  }
  if (typeof schema.question !== "string" || !schema.question.includes("{entity}")) {
    throw new Error(`${what}: question must contain {entity}, got ${JSON.stringify(schema.question)}`);
  }
  const answer = schema.answer ?? "{attribute}";
  if (typeof answer !== "string" || !answer.includes("{attribute}")) {
    throw new Error(`${what}: answer must contain {attribute}, got ${JSON.stringify(schema.answer)}`);
  }
  return schema;
}

/** The token id of each attribute as an answer; each must be one token, and no two the same. */
export function answerTokenIds(schema: BindingSchema, tokenizer: Tokenizer): Map<string, number> {
  const ids = new Map<string, number>();
  const seen = new Map<number, string>();
  for (const attribute of schema.attributes) {
    const text = (schema.answer ?? "{attribute}").replaceAll("{attribute}", attribute);
    const encoded = tokenizer.encode(text, { addSpecialTokens: false });
    if (encoded.length !== 1) {
      throw new Error(
        `schema "${schema.name}": the answer ${JSON.stringify(text)} is ${encoded.length} tokens (${encoded.join(", ")}), not one; change the schema's answer (e.g. " {attribute}") or attributes`,
      );
    }
    const id = encoded[0] as number;
    const other = seen.get(id);
    if (other !== undefined) {
      throw new Error(`schema "${schema.name}": the attributes "${other}" and "${attribute}" are the same token ${id}`);
    }
    seen.set(id, attribute);
    ids.set(attribute, id);
  }
  return ids;
}

function fill(template: string, entity: string, attribute: string): string {
  return template.replaceAll("{entity}", entity).replaceAll("{attribute}", attribute);
}
