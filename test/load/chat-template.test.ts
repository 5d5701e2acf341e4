import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { type ChatMessage, type ChatTemplateOptions, renderChatTemplate } from "../../src/load/chat-template.ts";
import { Tokenizer } from "../../src/load/tokenizer.ts";
import { askOracle, tokenizerFolders } from "./tokenizer-fixtures.ts";

interface Case {
  title: string;
  messages: ChatMessage[];
  options: ChatTemplateOptions;
}

interface Answer {
  text?: string;
  mlx_text?: string;
  ids?: number[];
  error?: string;
}

const conversation: ChatMessage[] = [
  { role: "system", content: "You are terse. Réponds en français si on te parle français." },
  { role: "user", content: "Bonjour ! 你好 👨‍👩‍👧 How are you?" },
  { role: "assistant", content: "Très bien.\n\n  Indented line\tand a tab." },
  { role: "user", content: "def f():\n\treturn 1\n\nWhat does it return?" },
];
const withoutSystem = conversation.slice(1);

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather at a place — « météo »",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

const common: Case[] = [
  {
    title: "multi-turn with system, generation prompt",
    messages: conversation,
    options: { addGenerationPrompt: true },
  },
  { title: "multi-turn without system, no generation prompt", messages: withoutSystem, options: {} },
  { title: "one user message", messages: [{ role: "user", content: "Hi" }], options: { addGenerationPrompt: true } },
  {
    title: "continue the final assistant message",
    messages: [...withoutSystem, { role: "assistant", content: "Let me think" }],
    options: { continueFinalMessage: true },
  },
];

const extra: Record<string, Case[]> = {
  qwen3: [
    {
      title: "tools, a tool call, a tool response, thinking off",
      messages: [
        { role: "system", content: "Use tools." },
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ type: "function", function: { name: "get_weather", arguments: { city: "Paris" } } }],
        },
        { role: "tool", content: '{"temp": 21, "sky": "ensoleillé ☀️"}' },
      ],
      options: { addGenerationPrompt: true, tools: [weatherTool], vars: { enable_thinking: false } },
    },
    {
      title: "reasoning given as reasoning_content, thinking, and inline",
      messages: [
        { role: "user", content: "2+2?" },
        { role: "assistant", content: "4", reasoning: "Add them." },
        { role: "user", content: "3+3?" },
        { role: "assistant", content: "<think>\nAdd again.\n</think>\n\n6", reasoning_content: null },
      ],
      options: {},
    },
  ],
  gemma3: [
    {
      title: "content as a list of text parts",
      messages: [
        { role: "system", content: [{ type: "text", text: "Be brief." }] },
        { role: "user", content: [{ type: "text", text: "Describe 🌈 in one word." }] },
      ],
      options: { addGenerationPrompt: true },
    },
  ],
};

function toOracle(c: Case): Record<string, unknown> {
  return {
    messages: c.messages,
    add_generation_prompt: c.options.addGenerationPrompt ?? false,
    continue_final_message: c.options.continueFinalMessage ?? false,
    tools: c.options.tools ?? null,
    kwargs: c.options.vars ?? {},
  };
}

const withTemplate = ["llama3", "qwen3", "gemma3"];
const casesOf = (name: string) => [...common, ...(extra[name] ?? [])];

// Checkpoint-like folders whose templates sit where transformers also looks.
function folderWith(files: Record<string, string>, configPatch: Record<string, unknown> = {}): string {
  const source = tokenizerFolders.llama3 as string;
  const dir = mkdtempSync(join(tmpdir(), "mlux-chat-"));
  copyFileSync(join(source, "tokenizer.json"), join(dir, "tokenizer.json"));
  const config = JSON.parse(readFileSync(join(source, "tokenizer_config.json"), "utf8"));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ ...config, ...configPatch }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const jinjaFile = "{% for m in messages %}[{{ m.role }}|{{ m.content }}]{% endfor %}{{ eos_token }}";
const thinkingFlag =
  "{% if enable_thinking is defined %}{% if enable_thinking %}on{% else %}off{% endif %}{% else %}unset{% endif %}";
const folders = {
  jinjaFile: folderWith({ "chat_template.jinja": jinjaFile }),
  thinking: folderWith({ "chat_template.jinja": thinkingFlag }),
  namedList: folderWith(
    {},
    {
      chat_template: [
        { name: "default", template: "{{ bos_token }}{% for m in messages %}<{{ m.content }}>{% endfor %}" },
        { name: "tool_use", template: "{% for t in tools %}{{ t | tojson }}{% endfor %}|{{ messages[0].content }}" },
      ],
    },
  ),
  additional: folderWith({
    "chat_template.jinja": jinjaFile,
    "additional_chat_templates/rag.jinja": "{% for d in documents %}{{ d.title }}:{{ d.text }};{% endfor %}",
  }),
};
const folderCases: Record<keyof typeof folders, Case[]> = {
  jinjaFile: [{ title: "chat_template.jinja wins over the config", messages: conversation, options: {} }],
  thinking: [
    { title: "enable_thinking as mlx-lm sets it", messages: conversation, options: {} },
    { title: "enable_thinking given", messages: conversation, options: { vars: { enable_thinking: true } } },
  ],
  namedList: [
    { title: "default of named templates", messages: conversation, options: {} },
    { title: "tool_use of named templates", messages: conversation, options: { tools: [weatherTool] } },
  ],
  additional: [{ title: "the default of the .jinja files", messages: withoutSystem, options: {} }],
};

const answers: Record<string, Answer[]> = {};

before(async () => {
  const requests = [
    ...withTemplate.map((name) => ({ op: "chat", dir: tokenizerFolders[name], cases: casesOf(name).map(toOracle) })),
    ...Object.entries(folders).map(([key, dir]) => ({
      op: "chat",
      dir,
      cases: (folderCases[key as keyof typeof folders] ?? []).map(toOracle),
    })),
    { op: "chat", dir: tokenizerFolders.gpt2, cases: [toOracle(common[0] as Case)] },
  ];
  const results = await askOracle<Answer[]>(requests);
  [...withTemplate, ...Object.keys(folders), "gpt2"].forEach((key, i) => {
    answers[key] = results[i] as Answer[];
  });
});

describe("chat templates against transformers' apply_chat_template", () => {
  for (const name of withTemplate) {
    test(`${name}: rendered text and ids identical to transformers and mlx-lm`, () => {
      const tokenizer = Tokenizer.fromFolder(tokenizerFolders[name] as string);
      casesOf(name).forEach((c, i) => {
        const expected = (answers[name] as Answer[])[i] as Answer;
        assert.equal(expected.error, undefined, `${c.title}: Python failed: ${expected.error}`);
        const text = tokenizer.applyChatTemplate(c.messages, c.options);
        assert.equal(text, expected.mlx_text, c.title);
        // These templates read enable_thinking only when it is false, so transformers agrees too.
        assert.equal(text, expected.text, c.title);
        assert.deepEqual(tokenizer.encodeChat(c.messages, c.options), expected.ids, c.title);
      });
    });
  }

  test("templates found where transformers finds them: .jinja files, named lists, additional templates", () => {
    for (const [key, dir] of Object.entries(folders)) {
      const tokenizer = Tokenizer.fromFolder(dir);
      folderCases[key as keyof typeof folders].forEach((c, i) => {
        const expected = (answers[key] as Answer[])[i] as Answer;
        assert.equal(expected.error, undefined, `${c.title}: Python failed: ${expected.error}`);
        assert.equal(tokenizer.applyChatTemplate(c.messages, c.options), expected.mlx_text, c.title);
        if (key !== "thinking") assert.equal(expected.mlx_text, expected.text, c.title);
      });
    }
    // mlx-lm passes enable_thinking = whether the vocabulary has thinking tokens; transformers passes nothing.
    assert.deepEqual(
      (answers.thinking as Answer[]).map((a) => [a.mlx_text, a.text]),
      [
        ["off", "unset"],
        ["on", "on"],
      ],
    );
    const additional = Tokenizer.fromFolder(folders.additional);
    const rag = additional.applyChatTemplate(withoutSystem, {
      templateName: "rag",
      documents: [{ title: "A", text: "alpha" }],
    });
    assert.equal(rag, "A:alpha;");
    assert.throws(
      () => additional.applyChatTemplate(withoutSystem, { templateName: "nope" }),
      /no chat template named "nope"; this checkpoint has "default", "rag"/,
    );
  });

  test("chat_template.json (the processor's file) is used when nothing else holds a template", () => {
    const dir = folderWith({ "chat_template.json": JSON.stringify({ chat_template: "{{ messages[0].content }}!" }) });
    const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
    delete config.chat_template;
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
    assert.equal(Tokenizer.fromFolder(dir).applyChatTemplate([{ role: "user", content: "hey" }]), "hey!");
  });
});

describe("chat templates that cannot be used", () => {
  test("a tokenizer without a template: a clear error, as transformers gives one", () => {
    assert.match((answers.gpt2 as Answer[])[0]?.error ?? "", /chat_template is not set/);
    const gpt2 = Tokenizer.fromFolder(tokenizerFolders.gpt2 as string);
    assert.equal(gpt2.hasChatTemplate, false);
    assert.throws(
      () => gpt2.applyChatTemplate(conversation),
      /the tokenizer in .*tokenizer-gpt2\/models has no chat template \(none in tokenizer_config.json, chat_template.jinja or chat_template.json\)/,
    );
  });

  test("a template that raises, one that does not parse, bad messages and options: clear errors", () => {
    const gemma = Tokenizer.fromFolder(tokenizerFolders.gemma3 as string);
    assert.throws(
      () => gemma.applyChatTemplate([{ role: "assistant", content: "first" }]),
      /the chat template failed to render: .*Conversation roles must alternate user\/assistant/,
    );
    assert.throws(() => renderChatTemplate("{% for %}", conversation), /the chat template could not be parsed: /);
    assert.throws(() => gemma.applyChatTemplate([]), /needs a non-empty list of messages/);
    assert.throws(
      () => gemma.applyChatTemplate([{ content: "no role" } as unknown as ChatMessage]),
      /a chat message must be an object with a "role" string/,
    );
    assert.throws(
      () => gemma.applyChatTemplate(conversation, { addGenerationPrompt: true, continueFinalMessage: true }),
      /continueFinalMessage and addGenerationPrompt exclude each other/,
    );
    assert.throws(
      () => gemma.applyChatTemplate(conversation, { templateName: "tool_use" }),
      /single chat template; there is no template "tool_use"/,
    );
  });

  test("a checkpoint whose chats mlx-lm renders in Python (chat_template_type): a clear error", () => {
    const dir = folderWith({}, { chat_template_type: "deepseek_v32" });
    assert.throws(
      () => Tokenizer.fromFolder(dir).applyChatTemplate(conversation),
      /renders chats with mlx-lm's Python module chat_templates\/deepseek_v32 .* which mlux does not have/,
    );
  });

  test("a malformed template entry in tokenizer_config.json names the file", () => {
    const dir = folderWith({}, { chat_template: [{ name: "default" }] });
    assert.throws(() => Tokenizer.fromFolder(dir), /"chat_template" of .*tokenizer_config.json must list objects like/);
    const numeric = folderWith({}, { chat_template: 3 });
    assert.throws(() => Tokenizer.fromFolder(numeric), /must be a string or a list of \{"name", "template"\} objects/);
  });
});
