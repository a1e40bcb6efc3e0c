import Foundation

/// What an inference engine's own log says it allocated and measured, read from
/// the lines vLLM, SGLang, llama.cpp (and llama-server) and Ollama really print.
///
/// The reader streams the log line by line (a 2 GB log costs one line of memory),
/// strips what surrounds the message — ANSI colours, timestamps, `INFO`, worker
/// and rank prefixes such as `(VllmWorkerProcess pid=521)` or `[2025-09-03 18:33:18
/// TP0]` — and keeps each figure it recognises with its line number. Lines it does
/// not recognise are counted, not kept. Sizes are bytes: llama.cpp's and Ollama's
/// MiB and GiB are binary; vLLM's and SGLang's "GB" are GiB too (both divide by
/// 2^30 before printing, whatever the label says).
package struct EngineLog: Sendable {
  /// An engine whose log lines the reader knows.
  package enum Engine: String, Sendable, CaseIterable {
    case vllm, sglang, llamaCpp = "llama.cpp", ollama
    /// The script `shardplan measure` writes (its `shardplan-measure:` lines).
    case measure = "shardplan measure"
    /// `nvidia-smi --query-gpu=memory.used --format=csv` samples (with `index` or
    /// more columns, or `-l` repeats), alone or beside an engine's log.
    case nvidiaSmi = "nvidia-smi"
  }

  /// What a figure measures.
  package enum Term: String, Sendable, CaseIterable, Comparable {
    /// Weights held on a GPU (vLLM "model weights take", llama.cpp "CUDA0 model
    /// buffer size", SGLang "Load weight end … mem usage").
    case weights
    /// Weights held in host memory (llama.cpp "CPU buffer size").
    case hostWeights
    /// The KV cache pool (vLLM "Available KV cache memory", llama.cpp "KV buffer
    /// size", SGLang "K size" + "V size").
    case kvCache
    /// Tokens the KV pool holds (vLLM "GPU KV cache size" or its blocks × 16,
    /// SGLang "#tokens").
    case kvTokens
    /// Sequences of the full context the KV pool holds (vLLM "Maximum
    /// concurrency for N tokens per request").
    case maxConcurrency
    /// Activations or compute buffers (vLLM "PyTorch activation peak memory",
    /// llama.cpp "compute buffer size", Ollama "memory.graph").
    case activations
    /// Memory outside PyTorch's allocator (vLLM "non_torch_memory").
    case overheads
    /// CUDA graph memory (vLLM "Graph capturing … took", SGLang "Capture cuda graph end … mem usage").
    case cudaGraphs
    /// The memory the engine may use on a GPU (vLLM total × utilisation).
    case budget
    /// Layers on the GPUs (llama.cpp "offloaded N/M layers", Ollama "layers.offload").
    case gpuLayers
    /// Generated tokens per second for one sequence (llama.cpp `eval time`).
    case decodeTokensPerSecond
    /// Prompt tokens per second (llama.cpp `prompt eval time`).
    case prefillTokensPerSecond
    /// Context the engine was started with (llama.cpp `n_ctx`, SGLang `context_len`).
    case context
    /// HBM bandwidth a large copy reached, bytes/s (`shardplan measure`).
    case hbmBandwidth
    /// bf16 GEMM rate at the plan's shapes, FLOP/s (`shardplan measure`).
    case gemmBF16
    /// fp8 GEMM rate at the plan's shapes, FLOP/s (`shardplan measure`).
    case gemmFP8
    /// All-reduce bus bandwidth over a group, bytes/s; the device is the link kind
    /// (`shardplan measure` under torchrun).
    case allReduceBusBandwidth
    /// Peak activation memory of two of the model's layers over the context (`shardplan measure`).
    case peakMemory
    /// What a GPU's memory held at its highest, all processes together
    /// (`nvidia-smi --query-gpu=memory.used`).
    case memoryUsed

    package static func < (lhs: Term, rhs: Term) -> Bool {
      allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }

    /// Whether the figure belongs to one GPU of the plan (a GPU's memory or rates).
    package var isPerGPU: Bool {
      (isBytes && self != .hostWeights) || [.hbmBandwidth, .gemmBF16, .gemmFP8].contains(self)
    }

    /// Whether the figure is bytes (else a count or a rate).
    package var isBytes: Bool {
      ![
        .kvTokens, .maxConcurrency, .gpuLayers, .decodeTokensPerSecond, .prefillTokensPerSecond, .context,
        .hbmBandwidth, .gemmBF16, .gemmFP8, .allReduceBusBandwidth,
      ].contains(self)
    }
  }

  /// One figure, where the log gives it.
  package struct Figure: Hashable, Sendable {
    /// What it measures.
    package var term: Term
    /// The device it is about: `CUDA0`, `TP1`, a worker `pid=507`, or nil for the whole run.
    package var device: String?
    /// Bytes, tokens or tokens per second.
    package var value: Double
    /// Its line in the log.
    package var line: Int
    /// The program that printed it: Ollama's lines are its own estimate before
    /// it starts llama.cpp, whose lines in the same log are what it allocated.
    package var origin: Engine
    /// Whether the line states an estimate rather than what was allocated or measured.
    package var isEstimate: Bool { origin == .ollama }
  }

  /// The engine the log is from.
  package var engine: Engine
  /// The figures read, in log order.
  package var figures: [Figure]
  /// Lines that matched no pattern.
  package var skippedLines: Int
  /// Lines longer than ``maximumLineBytes`` that were cut before matching.
  package var cutLines: Int
  /// The log it was read from.
  package var source: String
  /// Whether llama.cpp ran with flash attention, where its log says (`flash_attn = 0`).
  package var flashAttention: Bool?
  /// The tokens of llama.cpp's physical batch, where its log says (`n_ubatch = 512`).
  package var microBatch: Int?
  /// vLLM's `max_num_seqs`, where its log says (the arguments line of V1, or
  /// an engine-arguments dump): the sequences its start-up profile samples.
  package var maxSequences: Int?
  /// vLLM's `max_num_batched_tokens`, where its log says (`Chunked prefill is
  /// enabled with max_num_batched_tokens=8192`): the tokens its profile runs.
  package var batchedTokens: Int?
  /// The tokens of llama.cpp's timed prompt and of its timed generation, where
  /// its `prompt eval time` and `eval time` lines say (`/ 7 tokens`, `/ 255 runs`):
  /// the cache a decode rate was measured over.
  package var promptTokens: Int?
  package var generatedTokens: Int?

  /// The tokens a llama.cpp decode rate was measured over on average: the timed
  /// prompt and half the timed generation; nil without a decode rate or counts.
  package var decodeFill: Int? {
    guard let generatedTokens, figures.contains(where: { $0.term == .decodeTokensPerSecond }) else { return nil }
    return max(1, (promptTokens ?? 0) + generatedTokens / 2)
  }

  /// The shortest prompt whose llama.cpp `prompt eval` rate is read as prefill
  /// throughput: a prompt of 8 tokens (llama-cli's default test prompt) measures
  /// the kernels' launch latency, not the GEMMs a plan's prefill prices.
  package static let minimumPrefillTokens = 128

  /// Lines longer than this are cut (a log line is a few hundred bytes; a line
  /// of megabytes is a dump no pattern needs).
  package static let maximumLineBytes = 16 << 10

  /// Reads the log at `path` as a stream.
  package static func read(path: String) throws -> EngineLog {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw InputError(.unreadable, source: path, message: "cannot read the log", fix: "Check the path and permissions")
    }
    defer { try? handle.close() }
    var reader = Reader(source: path)
    var pending: [UInt8] = []
    var overlong = false
    /// Adds bytes of the current line, keeping at most maximumLineBytes of it.
    func keep(_ bytes: UnsafeRawBufferPointer) {
      let room = maximumLineBytes - pending.count
      if bytes.count > room {
        if !overlong { reader.cutLines += 1 }
        overlong = true
      }
      pending.append(contentsOf: bytes.prefix(max(room, 0)))
    }
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
      chunk.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return }
        var start = 0
        while start < raw.count {
          guard let found = memchr(base + start, 0x0A, raw.count - start) else {
            keep(UnsafeRawBufferPointer(rebasing: raw[start...]))
            break
          }
          let end = base.distance(to: UnsafeRawPointer(found))
          keep(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
          reader.take(pending)
          pending.removeAll(keepingCapacity: true)
          overlong = false
          start = end + 1
        }
      }
    }
    if !pending.isEmpty { reader.take(pending) }
    return try reader.finish()
  }

  /// Reads a log held in memory (tests and the library).
  package static func read(text: String, source: String) throws -> EngineLog {
    var reader = Reader(source: source)
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      reader.take(Array(line.utf8.prefix(maximumLineBytes)))
    }
    return try reader.finish()
  }

  /// The figures of one term, in log order.
  package func figures(_ term: Term) -> [Figure] { figures.filter { $0.term == term } }

  struct Reader {
    let source: String
    var line = 0
    var figures: [Figure] = []
    var skipped = 0
    var cutLines = 0
    var votes: [Engine: Int] = [:]
    var flashAttention: Bool?
    /// Whether a `flash_attn =` line was read (`auto` leaves the value open).
    var flashLine = false
    var microBatch: Int?
    var maxSequences: Int?
    var batchedTokens: Int?
    var v0BatchedTokens: Int?
    var promptTokens: Int?
    var generatedTokens: Int?
    /// The columns of an `nvidia-smi --query-gpu` CSV header with `memory.used`:
    /// how many, which holds memory.used and which the GPU's index.
    var smiColumns: (count: Int, used: Int, index: Int?)?
    /// The highest memory.used of each GPU (by its index, "" without one) and its line.
    var smiPeaks: [String: (bytes: Double, line: Int)] = [:]

    init(source: String) { self.source = source }

    /// An `nvidia-smi --query-gpu=…,memory.used,… --format=csv` header or row.
    mutating func takeSMI(_ bytes: [UInt8]) -> Bool {
      guard bytes.count < 1024 else { return false }
      let fields = String(decoding: bytes, as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false)
        .map { $0.trimmingCharacters(in: .whitespaces) }
      if let used = fields.firstIndex(where: { $0.hasPrefix("memory.used") }) {
        smiColumns = (fields.count, used, fields.firstIndex(of: "index"))
        return true
      }
      guard let columns = smiColumns, fields.count == columns.count,
        let match = fields[columns.used].wholeMatch(of: /(\d{1,9}) MiB/), let mebibytes = Double(match.1)
      else { return false }
      let device = columns.index.map { fields[$0] } ?? ""
      let value = mebibytes * 1_048_576
      if value > smiPeaks[device]?.bytes ?? -1 { smiPeaks[device] = (value, line) }
      return true
    }

    mutating func take(_ bytes: [UInt8]) {
      line += 1
      // nvidia-smi's CSV: a header naming memory.used, then its rows.
      let header = smiColumns == nil && bytes.withUnsafeBytes { EngineLog.find(EngineLog.smiHeader, in: $0) }
      if header || smiColumns != nil, takeSMI(bytes) { return }
      // Most lines of a log are none of these: a byte search for the phrases the
      // patterns need skips them before any pattern runs (a 2 GB log stays a scan).
      let known = bytes.withUnsafeBytes { raw in
        EngineLog.phrases.contains { phrase in
          EngineLog.find(phrase, in: raw)
        }
      }
      guard known else {
        skipped += 1
        return
      }
      let text = EngineLog.clean(String(decoding: bytes, as: UTF8.self))
      if let match = text.message.firstMatch(
        of: /(?:llama_new_context_with_model|llama_init_from_model|llama_context):\s+flash_attn\s*=\s*(\w+)/
      ) {
        // `auto` (llama.cpp's default `--flash-attn auto`) is settled by a later line.
        let value = match.1.lowercased()
        flashLine = true
        if value != "auto" { flashAttention = ["1", "true", "enabled", "on"].contains(value) }
        return
      }
      if let match = text.message.firstMatch(of: /Flash Attention was auto, set to (enabled|disabled)/) {
        flashAttention = match.1 == "enabled"
        return
      }
      if let match = text.message.firstMatch(
        of: /(?:llama_new_context_with_model|llama_init_from_model|llama_context):\s+n_ubatch\s*=\s*(\d{1,7})\b/
      ) {
        microBatch = Int(match.1)
        return
      }
      // vLLM's scheduler sizes: `max_num_seqs=256`, `'max_num_seqs': 256`.
      let sequences = text.message.firstMatch(of: /max_num_seqs['"]?\s*[=:]\s*(\d{1,7})\b/)
      let batched = text.message.firstMatch(of: /max_num_batched_tokens['"]?\s*[=:]\s*(\d{1,9})\b/)
      if sequences != nil || batched != nil {
        maxSequences = sequences.flatMap { Int($0.1) } ?? maxSequences
        batchedTokens = batched.flatMap { Int($0.1) } ?? batchedTokens
        return
      }
      // V0's engine config line: without chunked prefill its scheduler batches
      // max(max_model_len, 2048) tokens (vLLM's SchedulerConfig default).
      if text.message.contains("Initializing a V0 LLM engine"), text.message.contains("chunked_prefill_enabled=False"),
        let length = text.message.firstMatch(of: /max_seq_len=(\d{1,9})\b/).flatMap({ Int($0.1) })
      {
        v0BatchedTokens = max(length, 2048)
        return
      }
      // llama.cpp's timings: how many tokens were timed (the line is read for its rate too).
      if let timed = text.message.firstMatch(
        of:
          /(?:llama_perf_context_print|llama_print_timings):\s+(prompt eval|eval) time\s*=\s*[\d.]+ ms\s*\/\s*(\d{1,9}) (?:tokens|runs)/
      ) {
        if timed.1 == "eval" { generatedTokens = Int(timed.2) } else { promptTokens = Int(timed.2) }
      }
      let before = figures.count
      for (engine, parse) in EngineLog.parsers {
        let found = parse(text.message, text.device)
        if !found.isEmpty {
          votes[engine, default: 0] += 1
          figures += found.map {
            Figure(term: $0.0, device: $0.1 ?? text.device, value: $0.2, line: line, origin: engine)
          }
          break
        }
      }
      if figures.count == before { skipped += 1 }
    }

    func finish() throws -> EngineLog {
      // nvidia-smi's peaks, in the order of the GPUs' indices; the log is nvidia-smi's
      // only when no engine line was read.
      var figures = figures
      for (device, peak) in smiPeaks.sorted(by: { ($0.key.count, $0.key) < ($1.key.count, $1.key) }) {
        figures.append(
          Figure(
            term: .memoryUsed,
            device: device.isEmpty ? nil : "GPU\(device)",
            value: peak.bytes,
            line: peak.line,
            origin: .nvidiaSmi
          )
        )
      }
      let voted = votes.max(by: {
        $0.value < $1.value || ($0.value == $1.value && $0.key.rawValue > $1.key.rawValue)
      })?.key
      guard let engine = voted ?? (smiPeaks.isEmpty ? nil : .nvidiaSmi) else {
        throw InputError(
          .unrecognized,
          source: source,
          message: "no line of the \(line) read is one shardplan knows from an engine's log",
          expected:
            "vLLM (\"model weights take\", \"Available KV cache memory\", \"GPU KV cache size\"), SGLang (\"Load weight end\", \"KV Cache is allocated\"), llama.cpp (\"CUDA0 model buffer size\", \"KV buffer size\", \"compute buffer size\", \"eval time\"), Ollama (\"offload to cuda\"), or nvidia-smi (a --query-gpu CSV with memory.used)",
          fix: "Give the engine's start-up log (its standard error), from the start"
        )
      }
      // llama.cpp prints `flash_attn =` among its context lines since flash
      // attention came (2024-04, PR 5021); context lines without it are of a build
      // that had none.
      let contextWithoutFlash = !flashLine && figures.contains { $0.term == .context && $0.origin == .llamaCpp }
      return EngineLog(
        engine: engine,
        figures: figures,
        skippedLines: skipped,
        cutLines: cutLines,
        source: source,
        flashAttention: flashAttention ?? (contextWithoutFlash ? false : nil),
        microBatch: microBatch,
        maxSequences: maxSequences,
        batchedTokens: batchedTokens ?? v0BatchedTokens,
        promptTokens: promptTokens,
        generatedTokens: generatedTokens
      )
    }
  }

  /// Phrases at least one of which every line a pattern reads contains.
  static let phrases: [[UInt8]] = [
    "buffer size", "offloaded", "n_ctx", "n_ubatch", "max_num_seqs", "max_num_batched_tokens",
    "Initializing a V0 LLM engine", "flash_attn", "Flash Attention was", "tokens per second",
    "offload to", "weights take", "weights took", "loading took", "KV cache", "gpu_memory_utilization",
    "torch peak memory increase", "Requested memory", "blocks: ", "Maximum concurrency",
    "Graph capturing", "Load weight end",
    "KV Cache is allocated", "Capture cuda graph end", "max_total_num_tokens", "shardplan-measure:",
  ].map { Array($0.utf8) }

  /// The column nvidia-smi's `--query-gpu` CSV header names for memory used.
  static let smiHeader = Array("memory.used".utf8)

  /// Whether `phrase` occurs in `raw` (memchr for its first byte, then memcmp).
  static func find(_ phrase: [UInt8], in raw: UnsafeRawBufferPointer) -> Bool {
    guard let base = raw.baseAddress, let first = phrase.first, raw.count >= phrase.count else { return false }
    return phrase.withUnsafeBytes { needle in
      guard let needleBase = needle.baseAddress else { return false }
      var start = 0
      while raw.count - start >= phrase.count,
        let found = memchr(base + start, Int32(first), raw.count - start - phrase.count + 1)
      {
        if memcmp(found, needleBase, phrase.count) == 0 { return true }
        start = base.distance(to: UnsafeRawPointer(found)) + 1
      }
      return false
    }
  }

  // MARK: - Cleaning

  /// The message of a line without its colours and prefixes, and the device or
  /// rank a prefix names (`TP1`, `pid=507`, `rank1`).
  static func clean(_ raw: String) -> (message: String, device: String?) {
    var text = raw
    // ANSI escape sequences: ESC [ … final byte.
    while let escape = text.range(of: "\u{1B}[") {
      var end = escape.upperBound
      while end < text.endIndex, let ascii = text[end].asciiValue, !(0x40...0x7E).contains(ascii) {
        end = text.index(after: end)
      }
      text.removeSubrange(escape.lowerBound..<(end < text.endIndex ? text.index(after: end) : end))
    }
    text = text.replacingOccurrences(of: "\r", with: "")
    var device: String?
    if let match = text.firstMatch(of: /\b(TP\d+)\b/) { device = String(match.1) }
    if let match = text.firstMatch(of: /\(\w*Worker\w*\s+(pid=\d+)\)/) { device = String(match.1) }
    if let match = text.firstMatch(of: /\[rank(\d+)\]/) { device = "rank\(match.1)" }
    return (text, device)
  }

  // MARK: - Patterns

  typealias Parse = @Sendable (_ message: String, _ device: String?) -> [(Term, String?, Double)]

  /// Each engine's patterns, tried in this order on every line.
  static let parsers: [(Engine, Parse)] = [
    (.measure, measure), (.llamaCpp, llamaCpp), (.ollama, ollama), (.vllm, vllm), (.sglang, sglang),
  ]

  /// `shardplan-measure: KIND key=value …`, the lines of `shardplan measure`'s script.
  static func measure(_ message: String, _ device: String?) -> [(Term, String?, Double)] {
    guard let start = message.range(of: "shardplan-measure: ") else { return [] }
    let words = message[start.upperBound...].split(separator: " ")
    guard let kind = words.first else { return [] }
    var fields: [Substring: Substring] = [:]
    for word in words.dropFirst() {
      let pair = word.split(separator: "=", maxSplits: 1)
      if pair.count == 2 { fields[pair[0]] = pair[1] }
    }
    func value(_ key: Substring) -> Double? {
      fields[key].flatMap { Double($0) }.flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
    }
    let gpu = fields["device"].map { "GPU\($0)" }
    switch kind {
    case "hbm": return value("bytes_per_second").map { [(.hbmBandwidth, gpu, $0)] } ?? []
    case "gemm":
      let term: Term = fields["dtype"] == "fp8" ? .gemmFP8 : .gemmBF16
      return value("flops_per_second").map { [(term, gpu, $0)] } ?? []
    case "allreduce":
      return value("bus_bytes_per_second").map { [(.allReduceBusBandwidth, fields["link"].map(String.init), $0)] }
        ?? []
    case "peak_memory": return value("bytes").map { [(.peakMemory, gpu, $0)] } ?? []
    default: return []
    }
  }

  static func number(_ text: Substring) -> Double? { Double(text.replacingOccurrences(of: ",", with: "")) }

  static func bytes(_ value: Substring, _ unit: Substring) -> Double? {
    guard let number = number(value) else { return nil }
    switch unit.lowercased() {
    case "b": return number
    case "kib", "kb": return number * 1024
    case "mib", "mb": return number * 1024 * 1024
    case "gib", "gb": return number * 1024 * 1024 * 1024
    case "tib", "tb": return number * 1024 * 1024 * 1024 * 1024
    default: return nil
    }
  }

  static func llamaCpp(_ message: String, _ device: String?) -> [(Term, String?, Double)] {
    // llm_load_tensors: CUDA0 buffer size = 5434.38 MiB; load_tensors: CUDA0 model buffer size = …
    if let match = message.firstMatch(
      of: /(?:load_tensors|llm_load_tensors):\s+(\S+?)(?: model)? buffer size\s*=\s*([\d.]+) (MiB|GiB|KiB)/
    ) {
      let name = String(match.1)
      guard let size = bytes(match.2, match.3) else { return [] }
      let onGPU =
        ["CUDA", "ROCm", "Metal", "Vulkan", "SYCL"].contains { name.hasPrefix($0) } && !name.hasSuffix("_Host")
      return [(onGPU ? .weights : .hostWeights, name, size)]
    }
    // llama_kv_cache_init: CUDA0 KV buffer size = 1536.00 MiB (also llama_kv_cache_unified:, llama_kv_cache:)
    if let match = message.firstMatch(of: /llama_kv_cache\w*:\s+(\S+) KV buffer size\s*=\s*([\d.]+) (MiB|GiB|KiB)/) {
      guard let size = bytes(match.2, match.3) else { return [] }
      return [(.kvCache, String(match.1), size)]
    }
    // llama_new_context_with_model: CUDA0 compute buffer size = 672.01 MiB (also llama_context:)
    if let match = message.firstMatch(
      of:
        /(?:llama_new_context_with_model|llama_init_from_model|llama_context|sched_reserve):\s+(CUDA\d+|ROCm\d+|Metal|Vulkan\d+|SYCL\d+) compute buffer size\s*=\s*([\d.]+) (MiB|GiB|KiB)/
    ) {
      guard let size = bytes(match.2, match.3) else { return [] }
      return [(.activations, String(match.1), size)]
    }
    if let match = message.firstMatch(of: /(?:load_tensors|llm_load_tensors): offloaded (\d+)\/(\d+) layers to GPU/) {
      return number(match.1).map { [(.gpuLayers, nil, $0)] } ?? []
    }
    if let match = message.firstMatch(
      of: /(?:llama_new_context_with_model|llama_init_from_model|llama_context):\s+n_ctx\s*=\s*(\d+)/
    ) {
      return number(match.1).map { [(.context, nil, $0)] } ?? []
    }
    // llama_perf_context_print: eval time = 1234.56 ms / 127 runs ( 9.72 ms per token, 102.87 tokens per second)
    if let match = message.firstMatch(
      of: /(?:llama_perf_context_print|llama_print_timings):\s+(prompt eval|eval) time\s*=.*?([\d.]+) tokens per second/
    ) {
      guard let rate = number(match.2) else { return [] }
      if match.1 == "eval" { return [(.decodeTokensPerSecond, nil, rate)] }
      // A prompt of a few tokens times launch latency, not prefill throughput.
      if let tokens = message.firstMatch(of: /\/\s*(\d+) tokens/).flatMap({ Int($0.1) }),
        tokens < minimumPrefillTokens
      {
        return []
      }
      return [(.prefillTokensPerSecond, nil, rate)]
    }
    return []
  }

  static func ollama(_ message: String, _ device: String?) -> [(Term, String?, Double)] {
    guard message.contains("msg=\"offload to cuda\"") || message.contains("msg=\"offload to rocm\"") else { return [] }
    /// `name="6.5 GiB"` or `name="[23.3 GiB]"` (the first GPU's figure).
    func field(_ name: String) -> Double? {
      guard let start = message.range(of: " \(name)=") else { return nil }
      let rest = message[start.upperBound...].drop { $0 == "\"" || $0 == "[" }
      let parts = rest.split(separator: " ", maxSplits: 2)
      guard parts.count >= 2 else { return nil }
      return bytes(parts[0], parts[1].prefix { $0.isLetter })
    }
    var found: [(Term, String?, Double)] = []
    if let layers = message.firstMatch(of: /layers\.offload=(\d+)/).flatMap({ number($0.1) }) {
      found.append((.gpuLayers, nil, layers))
    }
    if let weights = field("memory.weights.total") { found.append((.weights, nil, weights)) }
    if let kv = field("memory.required.kv") { found.append((.kvCache, nil, kv)) }
    if let graph = field("memory.graph.full") { found.append((.activations, nil, graph)) }
    if let available = field("memory.available") { found.append((.budget, nil, available)) }
    return found
  }

  static func vllm(_ message: String, _ device: String?) -> [(Term, String?, Double)] {
    // model weights take 21.21GiB; non_torch_memory takes 0.20GiB; PyTorch activation peak memory takes 0.37GiB; the rest of the memory reserved for KV Cache is 1.57GiB.
    if let match = message.firstMatch(of: /model weights take ([\d.]+) ?(GiB|GB)/) {
      var found: [(Term, String?, Double)] = []
      if let size = bytes(match.1, match.2) { found.append((.weights, nil, size)) }
      if let other = message.firstMatch(of: /non_torch_memory takes ([\d.]+) ?(GiB|GB)/),
        let size = bytes(other.1, other.2)
      {
        found.append((.overheads, nil, size))
      }
      if let peak = message.firstMatch(of: /activation peak memory takes ([\d.]+) ?(GiB|GB)/),
        let size = bytes(peak.1, peak.2)
      {
        found.append((.activations, nil, size))
      }
      if let kv = message.firstMatch(of: /reserved for KV Cache is ([\d.]+) ?(GiB|GB)/), let size = bytes(kv.1, kv.2) {
        found.append((.kvCache, nil, size))
      }
      return found
    }
    // V1: Memory profiling takes 14.40 seconds. Total non KV cache memory: 10.22GiB; torch peak memory
    // increase: 1.40GiB; non-torch forward increase memory: 0.02GiB; weights memory: 8.80GiB.
    if let peak = message.firstMatch(of: /torch peak memory increase: ([\d.]+) ?(GiB|GB)/) {
      var found: [(Term, String?, Double)] = []
      if let weights = message.firstMatch(of: /weights memory: ([\d.]+) ?(GiB|GB)/),
        let size = bytes(weights.1, weights.2)
      {
        found.append((.weights, nil, size))
      }
      if let size = bytes(peak.1, peak.2) { found.append((.activations, nil, size)) }
      if let other = message.firstMatch(of: /non-torch forward increase memory: ([\d.]+) ?(GiB|GB)/),
        let size = bytes(other.1, other.2)
      {
        found.append((.overheads, nil, size))
      }
      return found
    }
    // V1: Initial free memory: 23.08 GiB; Requested memory: 0.80 (util), 18.82 GiB
    if let match = message.firstMatch(of: /Requested memory: [\d.]+ \(util\), ([\d.]+) ?(GiB|GB)/) {
      return bytes(match.1, match.2).map { [(.budget, nil, $0)] } ?? []
    }
    // Loading model weights took 67.7229 GB / Model loading took 14.99 GiB and 5.2 seconds
    if let match = message.firstMatch(of: /(?:Loading model weights|Model loading) took ([\d.]+) ?(GiB|GB)/) {
      return bytes(match.1, match.2).map { [(.weights, nil, $0)] } ?? []
    }
    if let match = message.firstMatch(of: /Available KV cache memory: ([\d.]+) ?(GiB|GB)/) {
      return bytes(match.1, match.2).map { [(.kvCache, nil, $0)] } ?? []
    }
    if let match = message.firstMatch(of: /GPU KV cache size: ([\d,]+) tokens/) {
      return number(match.1).map { [(.kvTokens, nil, $0)] } ?? []
    }
    // V0: # GPU blocks: 1381 / # cuda blocks: 13618, # CPU blocks: 2048 (blocks of 16 tokens, vLLM's default).
    if let match = message.firstMatch(of: /# (?:GPU|CUDA|cuda) blocks: (\d{1,12})\b/) {
      return number(match.1).map { [(.kvTokens, nil, $0 * Double(EngineProfile.profile(.vllm).kvBlockSize))] } ?? []
    }
    // Maximum concurrency for 2048 tokens per request: 10.79x
    if let match = message.firstMatch(of: /Maximum concurrency for [\d,]+ tokens per request: ([\d.]+)x/) {
      return number(match.1).map { [(.maxConcurrency, nil, $0)] } ?? []
    }
    // the current vLLM instance can use total_gpu_memory (23.58GiB) x gpu_memory_utilization (0.99) = 23.35GiB
    if let match = message.firstMatch(of: /gpu_memory_utilization \([\d.]+\) = ([\d.]+) ?(GiB|GB)/) {
      return bytes(match.1, match.2).map { [(.budget, nil, $0)] } ?? []
    }
    if let match = message.firstMatch(of: /Graph capturing finished in [\d.]+ secs?, took ([\d.]+) ?(GiB|GB)/) {
      return bytes(match.1, match.2).map { [(.cudaGraphs, nil, $0)] } ?? []
    }
    return []
  }

  static func sglang(_ message: String, _ device: String?) -> [(Term, String?, Double)] {
    // Load weight end. type=…, dtype=…, avail mem=63.42 GB, mem usage=14.99 GB.
    if message.contains("Load weight end"), let match = message.firstMatch(of: /mem usage=([\d.]+) ?(GB|GiB)/) {
      return bytes(match.1, match.2).map { [(.weights, nil, $0)] } ?? []
    }
    // KV Cache is allocated. #tokens: 367404, K size: 8.23 GB, V size: 8.23 GB
    if let match = message.firstMatch(
      of: /KV Cache is allocated\..*?#tokens: (\d+), K size: ([\d.]+) ?(GB|GiB), V size: ([\d.]+) ?(GB|GiB)/
    ) {
      var found: [(Term, String?, Double)] = []
      if let tokens = number(match.1) { found.append((.kvTokens, nil, tokens)) }
      if let k = bytes(match.2, match.3), let v = bytes(match.4, match.5) { found.append((.kvCache, nil, k + v)) }
      return found
    }
    if message.contains("Capture cuda graph end"), let match = message.firstMatch(of: /mem usage=([\d.]+) ?(GB|GiB)/) {
      return bytes(match.1, match.2).map { [(.cudaGraphs, nil, $0)] } ?? []
    }
    if let match = message.firstMatch(of: /max_total_num_tokens=(\d+).*?context_len=(\d+)/) {
      return [number(match.1).map { (.kvTokens, nil, $0) }, number(match.2).map { (.context, nil, $0) }].compactMap {
        $0
      }
    }
    return []
  }
}
