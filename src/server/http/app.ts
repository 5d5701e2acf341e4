// The HTTP application: routes, safety checks, the queue and the streams. It runs on its own thread
// and never touches the model: computations go to the model's thread as messages (`send`), and what
// it knows of the model (its description, its tokenizer) is kept here, so health, static files,
// the model list and tokenizing are answered while the model computes.
import { existsSync } from "node:fs";
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { isRepoId } from "../../load/hub-cache.ts";
import { Tokenizer } from "../../load/tokenizer.ts";
import type { ToCompute } from "../messages.ts";
import {
  ChatTemplateRequest,
  DownloadRequest,
  type ErrorResponse,
  type Health,
  LIMITS,
  type Limits,
  LoadModelRequest,
  type ModelInfo,
  type ModelState,
  RUN_SCHEMAS,
  type RunKind,
  type RunRequests,
  type StreamEvent,
  TokenizeRequest,
  type TokenizeResponse,
} from "../protocol.ts";
import { catalog, whyNotFound } from "./catalog.ts";
import { downloadAndLoad, isDownloading } from "./download.ts";
import { sendEvent, startEventStream } from "./event-stream.ts";
import { checkRun, LimitError } from "./limits.ts";
import { JobQueue, QueueFull } from "./queue.ts";

export interface AppOptions {
  /** The host the server is bound to (also accepted in the Host header). */
  host: string;
  /** The built pages (index.html and its assets); the API works without them. */
  staticDir: string;
  fixturesDir: string;
  state: ModelState;
  send: (message: ToCompute) => void;
  /** The limits (default LIMITS); tests lower them to reach them cheaply. */
  limits?: Partial<Limits>;
  /** The Hub models are downloaded from (default $HF_ENDPOINT, else https://huggingface.co). */
  hubUrl?: string;
}

export interface App {
  fastify: FastifyInstance;
  queue: JobQueue;
  /** The model's thread says the model changed. */
  setState(state: ModelState): void;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Thrown to answer with a status and a message. */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export async function buildApp(options: AppOptions): Promise<App> {
  const limits: Limits = { ...LIMITS, ...options.limits };
  const fastify = Fastify({
    bodyLimit: limits.bodyBytes,
    // Reject what the schema does not allow, rather than drop or convert it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });
  // Bodies are JSON only: no text/plain parser, so a cross-site form post cannot even be parsed.
  fastify.removeContentTypeParser("text/plain");
  const queue = new JobQueue(options.send, limits.queueLength);
  let state = options.state;
  let tokenizer: { path: string; tokenizer: Tokenizer } | undefined;

  const setState = (next: ModelState) => {
    state = next;
  };
  const model = (): ModelInfo => {
    if (state.model === undefined) throw new HttpError(503, "no model is loaded yet");
    return state.model;
  };
  const currentTokenizer = (): Tokenizer => {
    const info = model();
    if (tokenizer?.path !== info.path) tokenizer = { path: info.path, tokenizer: Tokenizer.fromFolder(info.path) };
    return tokenizer.tokenizer;
  };
  const allowedHosts = new Set([...LOOPBACK, options.host.includes(":") ? `[${options.host}]` : options.host]);

  // DNS rebinding: a page of another site that resolves its name to this address still sends its own
  // name as Host. Only the names this server answers to pass, at its own port.
  fastify.addHook("onRequest", async (request) => {
    const host = request.headers.host ?? "";
    const port = request.socket.localPort;
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.toLowerCase());
    if (match === null || !allowedHosts.has(match[1] as string) || Number(match[2] ?? 80) !== port) {
      throw new HttpError(
        403,
        `Host "${host}" is not this server's; use http://127.0.0.1:${port} or http://localhost:${port}`,
      );
    }
    // Cross-site requests: a state-changing request from a browser carries its page's Origin, which
    // must be this server. (A client that is not a browser sends none and is not a cross-site risk.)
    if (request.method !== "GET" && request.method !== "HEAD") {
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== `http://${host}`) {
        throw new HttpError(
          403,
          `Origin "${origin}" may not call this server; only its own pages (http://${host}) may`,
        );
      }
    }
  });

  fastify.setErrorHandler((error: FastifyError | HttpError, _request, reply) => {
    let status = error.statusCode ?? 500;
    let message = error.message;
    if ("code" in error) {
      if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
        message = `the request body is over the limit of ${limits.bodyBytes} bytes`;
      } else if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
        message = "send the request body as JSON (Content-Type: application/json)";
      } else if (error.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
        message = "the request body is empty; send a JSON object";
      } else if (error instanceof SyntaxError || error.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
        status = 400;
        message = `malformed JSON: ${error.message}`;
      } else if (error.validation !== undefined) {
        message = `invalid request: ${error.message}`;
      }
    }
    if (status >= 500) message = `internal error: ${message}`;
    const body: ErrorResponse = { error: message, statusCode: status };
    void reply.code(status).send(body);
  });

  fastify.setNotFoundHandler((request, reply) => {
    const body: ErrorResponse = { error: `no route ${request.method} ${request.url}`, statusCode: 404 };
    void reply.code(404).send(body);
  });

  fastify.get("/api/health", async (): Promise<Health> => {
    return { status: "ok", model: state.model?.name, busy: queue.busy, queued: queue.length, limits };
  });

  fastify.get("/api/model", async (): Promise<ModelState> => state);

  fastify.get("/api/models", async () => catalog(options.fixturesDir));

  fastify.post("/api/model", { schema: { body: LoadModelRequest } }, async (request, reply) => {
    const { model: name } = request.body as LoadModelRequest;
    const missing = whyNotFound(name);
    if (missing !== undefined) throw new HttpError(404, missing);
    const outcome = await new Promise<StreamEvent>((resolve, reject) => {
      let last: StreamEvent | undefined;
      try {
        queue.add(
          { type: "load", model: name },
          { onEvent: (event) => (last = event), onDone: () => resolve(last ?? { type: "stopped" }) },
        );
      } catch (error) {
        reject(error instanceof QueueFull ? new HttpError(503, error.message) : error);
      }
    });
    if (outcome.type === "result") return reply.send(outcome.data);
    throw new HttpError(422, outcome.type === "error" ? `could not load ${name}: ${outcome.message}` : "load stopped");
  });

  fastify.post("/api/download", { schema: { body: DownloadRequest } }, async (request, reply) => {
    const body = request.body as DownloadRequest;
    if (!isRepoId(body.model)) throw new HttpError(400, `"${body.model}" is not a Hub id like "owner/name"`);
    if (isDownloading(body.model)) throw new HttpError(409, `${body.model} is being downloaded already`);
    return downloadAndLoad(queue, body, request, reply, options.hubUrl);
  });

  fastify.post("/api/tokenize", { schema: { body: TokenizeRequest } }, async (request): Promise<TokenizeResponse> => {
    const tk = currentTokenizer();
    const ids = tk.encode((request.body as TokenizeRequest).prompt);
    if (ids.length > limits.promptTokens) {
      throw new HttpError(400, `prompt is ${ids.length} tokens, over the limit of ${limits.promptTokens} tokens`);
    }
    return { ids, tokens: ids.map((id) => tk.decode([id])) };
  });

  fastify.post("/api/chat-template", { schema: { body: ChatTemplateRequest } }, async (request) => {
    const tk = currentTokenizer();
    if (!tk.hasChatTemplate) throw new HttpError(400, `${model().name} has no chat template`);
    const prompt = tk.applyChatTemplate([{ role: "user", content: (request.body as ChatTemplateRequest).prompt }], {
      addGenerationPrompt: true,
    });
    return { prompt };
  });

  for (const [kind, schema] of Object.entries(RUN_SCHEMAS) as [RunKind, (typeof RUN_SCHEMAS)[RunKind]][]) {
    fastify.post(`/api/run/${kind}`, { schema: { body: schema } }, async (request, reply) => {
      try {
        checkRun(kind, request.body as RunRequests[typeof kind], model(), currentTokenizer(), limits);
      } catch (error) {
        if (error instanceof LimitError) throw new HttpError(400, error.message);
        throw error;
      }
      return stream(queue, { type: "run", kind, body: request.body }, request, reply);
    });
  }

  fastify.all("/api/*", async (request) => {
    throw new HttpError(404, `no route ${request.method} ${request.url}`);
  });

  if (existsSync(options.staticDir)) {
    await fastify.register(fastifyStatic, { root: options.staticDir, index: "index.html" });
  } else {
    fastify.get("/", async () => {
      throw new HttpError(404, `the pages are not built (${options.staticDir} is missing): run \`npm run build\``);
    });
  }

  return { fastify, queue, setState };
}

/** Answers with a server-sent-event stream of the job's events; the client going away stops it. */
function stream(
  queue: JobQueue,
  job: Parameters<JobQueue["add"]>[0],
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let id: number | undefined;
    let ended = false;
    const raw = reply.raw;
    try {
      id = queue.add(job, {
        onEvent: (event) => sendEvent(reply, event),
        onDone: () => {
          ended = true;
          startEventStream(reply);
          raw.end();
          resolve();
        },
      });
    } catch (error) {
      reject(error instanceof QueueFull ? new HttpError(503, error.message) : error);
      return;
    }
    startEventStream(reply);
    raw.on("close", () => {
      if (!ended && id !== undefined) queue.stop(id);
    });
    request.raw.on("error", () => {
      if (!ended && id !== undefined) queue.stop(id);
    });
  });
}
