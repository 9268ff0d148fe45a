// The changes `npm run build:whisper` makes to whisper.cpp's server example before compiling
// it, so that the engine child is private to the process that started it:
//
// - every request must carry `Authorization: Bearer <secret>`, the secret coming from the
//   DUET_WHISPER_SECRET environment variable (never argv, which any local user can read in
//   `ps`); the variable is removed from the child's environment once read; without it the
//   server refuses to start;
// - the `/load` route (loads any path, exits when that fails) is gone;
// - a refused request is answered 401 (not turned into a 404 by the error handler);
// - no CORS headers and no OPTIONS handler: a web page in a local browser cannot read answers;
// - `--port 0` binds a port chosen by the kernel and prints it (flushed), so there is no window
//   between choosing a free port and binding it in which another process could take it;
// - a `max_tokens` request field (whisper_full's tokens-per-segment cap, 0 = none): partial
//   results cap their decode, and benchmarks with random-weight models make the decoder do the
//   work of a trained model's short answer instead of running to the 224-token limit;
// - `duet_wait_ms` in a verbose_json answer: how long the request waited for the model, i.e.
//   for the request before it to finish (after an aborted partial, the tail it ran on).
//
// And one change to whisper.cpp itself (WHISPER_EDITS, src/whisper.cpp): the encoder's graphs
// (convolution, encoder, cross-attention) check the request's abort callback after every node
// (ggml's CPU backend supports it per node), not only once the whole encoder pass is done. A final that stops a running partial
// then waits for one graph node of the partial, not the rest of its encoder pass.
//
// Each edit names the exact text it expects; if the sources change and an anchor is missing,
// the build fails loudly instead of producing an unpatched server.

/**
 * `find` is replaced by `replace`; with `until`, the text from `find` up to (not including)
 * `until` is.
 * @typedef {{ what: string, find: string, until?: string, replace: string }} Edit
 */

/** @type {readonly Edit[]} */
export const SERVER_EDITS = [
  {
    what: 'constant-time secret check helper',
    find: 'using namespace httplib;\n',
    replace: `using namespace httplib;

// duet: the engine child answers only its parent (see src/asr/whisper-server-patch.mjs).
static bool duet_authorized(const Request & req, const std::string & secret) {
    const std::string header = req.get_header_value("Authorization");
    const std::string expected = "Bearer " + secret;
    if (header.size() != expected.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < header.size(); i++) diff |= (unsigned char) (header[i] ^ expected[i]);
    return diff == 0;
}
`,
  },
  {
    what: 'secret from the environment, required on every request',
    find: '    std::unique_ptr<httplib::Server> svr = std::make_unique<httplib::Server>();\n',
    replace: `    std::unique_ptr<httplib::Server> svr = std::make_unique<httplib::Server>();

    const char * duet_secret_env = std::getenv("DUET_WHISPER_SECRET");
    const std::string duet_secret = duet_secret_env ? duet_secret_env : "";
    if (duet_secret.size() < 16) {
        fprintf(stderr, "error: DUET_WHISPER_SECRET must hold a secret of at least 16 characters\\n");
        return 4;
    }
#if !defined(_WIN32)
    unsetenv("DUET_WHISPER_SECRET");
#endif
    svr->set_pre_routing_handler([duet_secret](const Request & req, Response & res) {
        if (duet_authorized(req, duet_secret)) return Server::HandlerResponse::Unhandled;
        res.status = 401;
        res.set_content("{\\"error\\":\\"unauthorized\\"}", "application/json");
        return Server::HandlerResponse::Handled;
    });
`,
  },
  {
    what: 'no CORS headers',
    find: `    svr->set_default_headers({{"Server", "whisper.cpp"},
                             {"Access-Control-Allow-Origin", "*"},
                             {"Access-Control-Allow-Headers", "content-type, authorization"}});
`,
    replace: `    svr->set_default_headers({{"Server", "whisper.cpp"}});
`,
  },
  {
    what: 'no CORS preflight handler',
    find: `    svr->Options(sparams.request_path + sparams.inference_path, [&](const Request &, Response &){
    });
`,
    replace: '',
  },
  {
    what: '/load route removed',
    // Everything from the /load handler up to the /health handler that follows it.
    find: '    svr->Post(sparams.request_path + "/load", [&](const Request &req, Response &res){\n',
    until: '    svr->Get(sparams.request_path + "/health"',
    replace: '    // duet: no /load route (it loaded any path and exited when that failed).\n',
  },
  {
    what: 'a refusal stays a 401 (the error handler turned every status but 400/500 into 404)',
    find: '        } else if (res.status != 500) {\n',
    replace: '        } else if (res.status != 500 && res.status != 401) {\n',
  },
  {
    what: 'port 0 = a kernel-chosen port',
    find: '    if (!svr->bind_to_port(sparams.hostname, sparams.port))\n',
    replace: '    if (sparams.port == 0 ? (sparams.port = svr->bind_to_any_port(sparams.hostname)) <= 0 : !svr->bind_to_port(sparams.hostname, sparams.port))\n',
  },
  {
    what: 'listening line flushed (stdout is a pipe)',
    find: '    printf("\\nwhisper server listening at http://%s:%d\\n\\n", sparams.hostname.c_str(), sparams.port);\n',
    replace: '    printf("\\nwhisper server listening at http://%s:%d\\n\\n", sparams.hostname.c_str(), sparams.port);\n    fflush(stdout);\n',
  },
  {
    what: 'a max_tokens request field (decoded tokens per segment; 0 = no limit): a request parameter',
    find: '    int32_t audio_ctx     = 0;\n',
    replace: '    int32_t audio_ctx     = 0;\n    int32_t max_tokens    = 0; // duet: wparams.max_tokens, per request\n',
  },
  {
    what: 'a max_tokens request field: parsed from the form',
    find: '    if (req.has_file("audio_ctx"))\n',
    replace: '    if (req.has_file("max_tokens"))\n    {\n        params.max_tokens = std::max(0, std::stoi(req.get_file_value("max_tokens").content));\n    }\n    if (req.has_file("audio_ctx"))\n',
  },
  {
    what: 'the time a request waited for the model: measured around the lock',
    find: '        // acquire whisper model mutex lock\n        std::lock_guard<std::mutex> lock(whisper_mutex);\n\n        // first check user requested fields of the request\n',
    replace: `        // duet: how long this request waits for the request before it (duet_wait_ms in the answer)
        const auto duet_wait_t0 = std::chrono::steady_clock::now();
        // acquire whisper model mutex lock
        std::lock_guard<std::mutex> lock(whisper_mutex);
        const double duet_wait_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - duet_wait_t0).count();

        // first check user requested fields of the request
`,
  },
  {
    what: 'the time a request waited for the model: in the verbose_json answer',
    find: '                {"segments", json::array()}\n            };\n',
    replace: '                {"segments", json::array()}\n            };\n            jres["duet_wait_ms"] = duet_wait_ms;\n',
  },
  {
    what: 'a max_tokens request field: passed to whisper_full',
    find: '            wparams.audio_ctx        = params.audio_ctx;\n',
    replace: '            wparams.audio_ctx        = params.audio_ctx;\n            wparams.max_tokens       = params.max_tokens;\n',
  },
];

/**
 * The edits to whisper.cpp's `src/whisper.cpp`: the scheduler's graph-compute helper passes an
 * abort callback to every backend that takes one (always, so a callback from an earlier request
 * never stays set), and the encoder's three graphs get the request's callback. ggml's CPU backend then
 * checks it after each node and stops the graph (GGML_STATUS_ABORTED), which whisper_full
 * reports as a failed encode; whisper-server answers 499 to the closed connection as before.
 * @type {readonly Edit[]}
 */
export const WHISPER_EDITS = [
  {
    what: 'graph-compute helper: an abort callback parameter',
    find: '                      bool   sched_reset = true) {\n',
    replace: '                      bool   sched_reset = true,\n         ggml_abort_callback   abort_callback = nullptr,\n                        void * abort_callback_data = nullptr) {\n',
  },
  {
    what: 'graph-compute helper: the callback set on each backend',
    find: '        if (fn_set_n_threads) {\n            fn_set_n_threads(backend, n_threads);\n        }\n',
    replace: `        if (fn_set_n_threads) {
            fn_set_n_threads(backend, n_threads);
        }

        // duet: checked after every node of the graph (null clears an earlier request's)
        auto * fn_set_abort = (ggml_backend_set_abort_callback_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_abort_callback");
        if (fn_set_abort) {
            fn_set_abort(backend, abort_callback, abort_callback_data);
        }
`,
  },
  {
    what: "the convolution stage's graph checks the request's abort callback",
    find: '            if (!ggml_graph_compute_helper(sched, gf, n_threads)) {\n',
    replace: '            if (!ggml_graph_compute_helper(sched, gf, n_threads, true, abort_callback, abort_callback_data)) {\n',
  },
  {
    what: "the cross-attention stage's graph checks the request's abort callback",
    find: `        ggml_cgraph * gf = whisper_build_graph_cross(wctx, wstate);

        if (!ggml_backend_sched_alloc_graph(sched, gf)) {
            // should never happen as we pre-allocate the memory
            return false;
        }

        if (!ggml_graph_compute_helper(sched, gf, n_threads)) {
`,
    replace: `        ggml_cgraph * gf = whisper_build_graph_cross(wctx, wstate);

        if (!ggml_backend_sched_alloc_graph(sched, gf)) {
            // should never happen as we pre-allocate the memory
            return false;
        }

        if (!ggml_graph_compute_helper(sched, gf, n_threads, true, abort_callback, abort_callback_data)) {
`,
  },
  {
    what: "the encoder's graph checks the request's abort callback",
    find: `        ggml_cgraph * gf = whisper_build_graph_encoder(wctx, wstate);

        if (!ggml_backend_sched_alloc_graph(sched, gf)) {
            // should never happen as we pre-allocate the memory
            return false;
        }

        if (!ggml_graph_compute_helper(sched, gf, n_threads)) {
`,
    replace: `        ggml_cgraph * gf = whisper_build_graph_encoder(wctx, wstate);

        if (!ggml_backend_sched_alloc_graph(sched, gf)) {
            // should never happen as we pre-allocate the memory
            return false;
        }

        if (!ggml_graph_compute_helper(sched, gf, n_threads, true, abort_callback, abort_callback_data)) {
`,
  },
];

/**
 * Applies `edits` to `source`; throws naming the first edit whose anchor is not found exactly
 * once.
 * @param {string} source
 * @param {readonly Edit[]} [edits]
 * @param {string} [file] the file's name, for the error
 * @returns {string}
 */
export function patchServerSource(source, edits = SERVER_EDITS, file = 'server.cpp') {
  let out = source;
  for (const edit of edits) {
    const at = out.indexOf(edit.find);
    if (at < 0 || out.indexOf(edit.find, at + 1) >= 0) {
      throw new Error(`whisper-server patch "${edit.what}": its anchor was ${at < 0 ? 'not found' : 'found more than once'} in ${file}`);
    }
    let end = at + edit.find.length;
    if (edit.until !== undefined) {
      end = out.indexOf(edit.until, end);
      if (end < 0) throw new Error(`whisper-server patch "${edit.what}": its end anchor was not found in ${file}`);
    }
    out = out.slice(0, at) + edit.replace + out.slice(end);
  }
  return out;
}

/**
 * Applies `WHISPER_EDITS` to whisper.cpp's `src/whisper.cpp`.
 * @param {string} source
 * @returns {string}
 */
export function patchWhisperSource(source) {
  return patchServerSource(source, WHISPER_EDITS, 'whisper.cpp');
}
