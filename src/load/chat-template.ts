// Chat templates: found in a checkpoint folder as transformers finds them, rendered by the
// maintained @huggingface/jinja with the variables transformers' apply_chat_template passes.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { readJsonObject } from "./config.ts";

/** One message of a conversation: a role and its content (text, or a list of content parts). */
export interface ChatMessage {
  role: string;
  content?: unknown;
  [field: string]: unknown;
}

/** A checkpoint's chat templates: one, or several by name ("default", "tool_use", ...). */
export type ChatTemplates = string | Record<string, string>;

export interface ChatTemplateOptions {
  /** Append the header that starts the assistant's turn (default false, as in transformers). */
  addGenerationPrompt?: boolean;
  /** Leave the last message open so the model continues it (mlx-lm's prefill); not with addGenerationPrompt. */
  continueFinalMessage?: boolean;
  /** Tool descriptions (JSON schemas) for templates that support function calling. */
  tools?: Record<string, unknown>[];
  /** Documents for retrieval-augmented templates. */
  documents?: Record<string, unknown>[];
  /** The name of one of several templates; default "default", or "tool_use" when tools are given. */
  templateName?: string;
  /** Further template variables (enable_thinking, ...); they override the special tokens of the same name. */
  vars?: Record<string, unknown>;
}

const TEMPLATE_FILE = "chat_template.jinja";
const TEMPLATE_DIR = "additional_chat_templates";
const PROCESSOR_TEMPLATE_FILE = "chat_template.json";

/**
 * The chat templates of the checkpoint in `dir`, resolved as transformers does: chat_template.jinja
 * and additional_chat_templates/*.jinja take priority over tokenizer_config.json's "chat_template"
 * (a string, or a list of {name, template}); chat_template.json (the processor's file) is the last
 * resort. Undefined when there is none.
 */
export function readChatTemplates(dir: string, tokenizerConfig: Record<string, unknown>): ChatTemplates | undefined {
  const files: Record<string, string> = {};
  const mainFile = join(dir, TEMPLATE_FILE);
  if (existsSync(mainFile)) files.default = readFileSync(mainFile, "utf8");
  const extraDir = join(dir, TEMPLATE_DIR);
  if (existsSync(extraDir) && statSync(extraDir).isDirectory()) {
    for (const name of readdirSync(extraDir).sort()) {
      if (name.endsWith(".jinja")) files[name.slice(0, -".jinja".length)] = readFileSync(join(extraDir, name), "utf8");
    }
  }
  const names = Object.keys(files);
  if (names.length === 1 && files.default !== undefined) return files.default;
  if (names.length > 0) return files;

  const configPath = join(dir, "tokenizer_config.json");
  const fromConfig = templatesFromValue(tokenizerConfig.chat_template, `"chat_template" of ${configPath}`);
  if (fromConfig !== undefined) return fromConfig;

  const processorFile = join(dir, PROCESSOR_TEMPLATE_FILE);
  if (existsSync(processorFile)) {
    const processor = readJsonObject(processorFile, "chat template file");
    return templatesFromValue(processor.chat_template, `"chat_template" of ${processorFile}`);
  }
  return undefined;
}

function templatesFromValue(value: unknown, where: string): ChatTemplates | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named: Record<string, string> = {};
    for (const entry of value) {
      const { name, template } = (entry ?? {}) as { name?: unknown; template?: unknown };
      if (typeof name !== "string" || typeof template !== "string") {
        throw new Error(`${where} must list objects like {"name": "default", "template": "..."}`);
      }
      named[name] = template;
    }
    return named;
  }
  throw new Error(`${where} must be a string or a list of {"name", "template"} objects, not ${typeof value}`);
}

/** The one template to render: picked by name from several as transformers picks it. */
export function selectChatTemplate(templates: ChatTemplates, options: ChatTemplateOptions = {}): string {
  if (typeof templates === "string") {
    if (options.templateName !== undefined && options.templateName !== "default") {
      throw new Error(`this checkpoint has a single chat template; there is no template "${options.templateName}"`);
    }
    return templates;
  }
  const names = Object.keys(templates).sort();
  const name =
    options.templateName ?? (options.tools !== undefined && templates.tool_use !== undefined ? "tool_use" : "default");
  const template = templates[name];
  if (template === undefined) {
    throw new Error(`no chat template named "${name}"; this checkpoint has ${names.map((n) => `"${n}"`).join(", ")}`);
  }
  return template;
}

const compiled = new Map<string, Template>();

function compile(source: string): Template {
  let template = compiled.get(source);
  if (!template) {
    try {
      template = new Template(source);
    } catch (error) {
      throw new Error(`the chat template could not be parsed: ${(error as Error).message}`);
    }
    compiled.set(source, template);
  }
  return template;
}

const REASONING_FIELDS = ["reasoning_content", "thinking", "reasoning"];
const CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG ";

// As transformers: keys whose value is null or undefined are dropped, and a reasoning text given
// under any of its names is visible under "thinking" and "reasoning_content" too.
function normalizeMessage(message: ChatMessage): Record<string, unknown> {
  if (typeof message !== "object" || message === null || typeof message.role !== "string") {
    throw new Error(`a chat message must be an object with a "role" string, not ${JSON.stringify(message)}`);
  }
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) if (value !== null && value !== undefined) clean[key] = value;
  const reasoning = REASONING_FIELDS.map((key) => clean[key]).find((value) => value !== undefined);
  if (reasoning === undefined) return clean;
  return { thinking: reasoning, ...clean, reasoning_content: reasoning };
}

/**
 * Renders `messages` with `template`, passing the variables transformers passes: messages, tools,
 * documents, add_generation_prompt, the named special tokens (bos_token, eos_token, ...) and `vars`.
 */
export function renderChatTemplate(
  template: string,
  messages: ChatMessage[],
  options: ChatTemplateOptions = {},
  specialTokens: Record<string, string> = {},
): string {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new Error("a chat template needs a non-empty list of messages");
  }
  if (options.continueFinalMessage && options.addGenerationPrompt) {
    throw new Error("continueFinalMessage and addGenerationPrompt exclude each other: continue a turn, or start one");
  }
  const chat = messages.map(normalizeMessage);
  let finalText = "";
  if (options.continueFinalMessage) {
    const last = chat[chat.length - 1] as Record<string, unknown>;
    if (typeof last.content !== "string") {
      throw new Error("continueFinalMessage needs the last message to have a string content to continue");
    }
    finalText = last.content;
    last.content = finalText + CONTINUE_TAG;
  }
  let rendered: string;
  try {
    rendered = compile(template).render({
      ...specialTokens,
      ...options.vars,
      messages: chat,
      tools: options.tools ?? null,
      documents: options.documents ?? null,
      add_generation_prompt: options.addGenerationPrompt ?? false,
    });
  } catch (error) {
    throw new Error(`the chat template failed to render: ${(error as Error).message}`);
  }
  if (options.continueFinalMessage) {
    const at = rendered.lastIndexOf(CONTINUE_TAG.trim());
    if (at < 0 || !rendered.includes(finalText.trim())) {
      throw new Error("continueFinalMessage: the chat template dropped the final message, so it cannot be continued");
    }
    rendered = rendered.startsWith(CONTINUE_TAG, at) ? rendered.slice(0, at) : rendered.slice(0, at).trimEnd();
  }
  return rendered;
}
