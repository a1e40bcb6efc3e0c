import Foundation

/// An engine log set beside a plan, term by term: for each figure the log
/// measured, what the plan predicted for the same GPU, and how far apart they are.
package struct Reconciliation: Sendable {
  /// One term on one device.
  package struct Row: Hashable, Sendable {
    /// What is compared.
    package var term: EngineLog.Term
    /// The plan's GPU (`GPU 0`), `host`, or `all` for the whole run.
    package var device: String
    /// The device as the log names it (`CUDA0`, `TP1`), if it does.
    package var logDevice: String?
    /// The plan's figure, nil when the plan has none for this term.
    package var predicted: Double?
    /// The log's figure.
    package var measured: Double
    /// The log line it came from.
    package var line: Int
    /// Whether the log's figure is an estimate (Ollama's), not what was allocated.
    package var isEstimate = false

    /// (predicted − measured) / measured, nil without a prediction or a measure.
    package var relativeError: Double? {
      guard let predicted, measured != 0 else { return nil }
      return (predicted - measured) / measured
    }
  }

  /// The log read.
  package var log: EngineLog
  /// The rows, in term order, then device.
  package var rows: [Row]
  /// What the comparison assumes, in words.
  package var notes: [String]

  /// The plan's figures a log can be held to, read from `plan.json`
  /// (`plan --format json`, schema 4) with the project's JSON reader.
  package struct PlanFigures: Sendable {
    package struct Device: Sendable {
      package var index: Int
      package var weightBytes: Double
      package var kvCacheBytes: Double
      package var activationBytes: Double
      package var overheadBytes: Double
      package var freeBytes: Double
      package var usableBytes: Double
      /// What the workloads use of it.
      package var usedBytes: Double = 0
      /// What other processes hold on the GPU.
      package var otherBytes: Double = 0
      /// The GPU's catalog id, where its name is one the catalog knows.
      package var gpuModel: String?
    }
    package var engine: String
    /// The weights' format as the plan names it (`bf16`, `fp8`, `q4_k_m`).
    package var weightFormat: String = ""
    /// The GPUs the first workload runs on, in stage order (llama.cpp's CUDA0, CUDA1 …).
    package var gpus: [Int]
    package var devices: [Int: Device]
    package var cpuBytes: Double
    package var context: Double
    package var concurrency: Double
    package var gpuLayers: Double?
    /// Decoder layers the stages hold (the last layer + 1).
    package var layers: Double
    package var decodeTokensPerSecond: Double?
    package var prefillTokensPerSecond: Double?
    /// The cache the decode rate was priced over, where not the plan's context
    /// (a logged run's fill, ``EngineLog/decodeFill``).
    package var decodeContext: Int?

    /// Reads `plan.json`.
    package static func read(_ data: Data, source: String) throws -> PlanFigures {
      let json = try JSONValue.parse(data, source: source)
      func malformed(_ field: String) -> InputError {
        InputError(
          .malformed,
          source: source,
          field: field,
          message: "not a shardplan plan: no '\(field)'",
          expected: "the JSON of `shardplan plan … --format json` (schema 4)",
          fix: "Write it again with `shardplan plan … --format json > plan.json`"
        )
      }
      guard let version = json["schemaVersion"]?.intValue else { throw malformed("schemaVersion") }
      guard version == 4 else {
        throw InputError(
          .unsupportedVersion,
          source: source,
          field: "schemaVersion",
          message: "plan schema \(version)",
          expected: "schema 4",
          fix: "Plan again with this shardplan"
        )
      }
      guard let workload = json["workloads"]?.arrayValue?.first else { throw malformed("workloads") }
      guard let rawDevices = json["devices"]?.arrayValue else { throw malformed("devices") }
      var devices: [Int: Device] = [:]
      for device in rawDevices {
        guard let index = device["index"]?.intValue else { throw malformed("devices.index") }
        func number(_ key: String) -> Double { device[key]?.doubleValue ?? 0 }
        devices[Int(index)] = Device(
          index: Int(index),
          weightBytes: number("weightBytes"),
          kvCacheBytes: number("kvCacheBytes"),
          activationBytes: number("activationBytes"),
          overheadBytes: number("overheadBytes"),
          freeBytes: number("freeBytes"),
          usableBytes: number("usableBytes"),
          usedBytes: number("usedBytes"),
          otherBytes: number("otherBytes"),
          gpuModel: device["name"]?.stringValue.flatMap { GPUCatalog.spec(matchingProductName: $0)?.id }
        )
      }
      var gpus: [Int] = []
      var layers = 0.0
      for stage in workload["stages"]?.arrayValue ?? [] {
        layers = max(layers, (stage["lastLayer"]?.doubleValue ?? -1) + 1)
        for gpu in stage["devices"]?.arrayValue ?? [] {
          if let gpu = gpu.intValue, !gpus.contains(Int(gpu)) { gpus.append(Int(gpu)) }
        }
      }
      let prediction = workload["prediction"]
      var figures = PlanFigures(
        engine: workload["engine"]?.stringValue ?? "",
        gpus: gpus,
        devices: devices,
        cpuBytes: json["cpuBytes"]?.doubleValue ?? 0,
        context: workload["context"]?.doubleValue ?? 0,
        concurrency: workload["concurrency"]?.doubleValue ?? 1,
        gpuLayers: workload["gpuLayers"]?.doubleValue,
        layers: layers,
        decodeTokensPerSecond: prediction?["decodeTokensPerSecond"]?.doubleValue,
        prefillTokensPerSecond: prediction?["prefillTokensPerSecond"]?.doubleValue
      )
      figures.weightFormat = workload["weightFormat"]?.stringValue ?? ""
      return figures
    }
  }

  /// The plan's figures the rows were held to, kept for ``calibration(from:base:source:)``.
  package var plan: PlanFigures?

  /// Sets `log` beside `plan`. Figures the log gives per device (llama.cpp's
  /// `CUDA0`, SGLang's `TP1`, vLLM's workers) go to the plan's GPUs in the order
  /// the log first names them, which is the order the engine numbers them; a
  /// figure without a device is a per-GPU figure for vLLM and SGLang (each rank
  /// prints its own) and the whole run's for llama.cpp and Ollama.
  package init(log: EngineLog, plan: PlanFigures?) {
    self.log = log
    self.plan = plan
    var notes: [String] = []
    var order: [String] = []
    for figure in log.figures where figure.term.isPerGPU {
      if let device = figure.device, !order.contains(device) { order.append(device) }
    }
    // vLLM and SGLang give their KV pool what is left; nvidia-smi's samples are
    // of the plan's engine.
    let poolingEngines = [Engine.vllm.rawValue, Engine.sglang.rawValue]
    let pooled =
      log.engine == .vllm || log.engine == .sglang
      || (log.engine == .nvidiaSmi && poolingEngines.contains(plan?.engine ?? ""))
    if pooled, plan != nil, log.engine != .nvidiaSmi {
      notes.append(
        "\(log.engine.rawValue) gives the KV cache everything left in its budget: the prediction is the plan's KV cache plus its free memory"
      )
    }
    if log.engine == .llamaCpp || log.engine == .ollama, plan != nil {
      notes.append("\(log.engine.rawValue)'s context is the whole cache: the plan's context × sequences")
    }
    if log.flashAttention == false {
      notes.append(
        "the log ran without flash attention: llama.cpp's compute buffer then holds the attention scores (cache × n_ubatch × heads × 4 bytes); a plan made with --model counts them, a plan.json for shardplan's own launch line (flash attention on) does not"
      )
    }
    if let fill = plan?.decodeContext {
      notes.append(
        "decode is priced over the \(fill) tokens the run's cache held on average (its timed prompt and half its generation), not the plan's whole context"
      )
    }
    if log.figures.contains(where: \.isEstimate) {
      notes.append(
        "rows marked (Ollama's estimate) are what Ollama predicted before starting llama.cpp, not what was allocated"
      )
    }
    var rows: [Row] = []
    for figure in log.figures {
      let gpu: Int? = {
        guard let plan, figure.term.isPerGPU else { return nil }
        if let device = figure.device, let position = order.firstIndex(of: device), position < plan.gpus.count {
          return plan.gpus[position]
        }
        return plan.gpus.first
      }()
      // A GPU of the plan; else where the log says (host buffers, per-rank lines), else the whole run.
      var device = gpu.map { "GPU \($0)" } ?? (figure.term == .hostWeights ? "host" : figure.device ?? "all")
      if !figure.term.isBytes, gpu == nil, figure.term != .allReduceBusBandwidth { device = "all" }
      if figure.isEstimate { device += " (Ollama's estimate)" }
      let predicted = plan.flatMap { plan in
        // Ollama's memory.weights.total is every weight, wherever it goes.
        figure.isEstimate && figure.term == .weights
          ? plan.gpus.compactMap { plan.devices[$0]?.weightBytes }.reduce(0, +) + plan.cpuBytes
          : Self.prediction(figure.term, gpu: gpu, plan: plan, pooled: pooled)
      }
      rows.append(
        Row(
          term: figure.term,
          device: device,
          logDevice: figure.device,
          predicted: predicted,
          measured: figure.value,
          line: figure.line,
          isEstimate: figure.isEstimate
        )
      )
    }
    // A log repeats a figure (each rank, each restart): keep the last of each term and device.
    var last: [String: Row] = [:]
    for row in rows { last["\(row.term.rawValue)|\(row.device)|\(row.logDevice ?? "")"] = row }
    self.rows = last.values.sorted { ($0.term, $0.device, $0.line) < ($1.term, $1.device, $1.line) }
    self.notes = notes
  }

  /// The plan's figure for `term` on `gpu` (nil: the plan has none).
  static func prediction(_ term: EngineLog.Term, gpu: Int?, plan: PlanFigures, pooled: Bool) -> Double? {
    let budget = gpu.flatMap { plan.devices[$0] }
    switch term {
    case .weights: return budget?.weightBytes
    case .hostWeights: return plan.cpuBytes
    case .kvCache:
      guard let budget else { return nil }
      return pooled ? budget.kvCacheBytes + budget.freeBytes : budget.kvCacheBytes
    case .activations: return budget?.activationBytes
    case .overheads: return budget?.overheadBytes
    case .budget: return budget?.usableBytes
    case .context: return plan.context * (pooled ? 1 : plan.concurrency)
    case .decodeTokensPerSecond: return plan.decodeTokensPerSecond
    case .prefillTokensPerSecond: return plan.prefillTokensPerSecond
    // llama.cpp counts the output layer as one more: all on the GPU is layers + 1.
    case .gpuLayers: return (plan.gpuLayers ?? plan.layers) + 1
    case .kvTokens: return pooled ? poolTokens(plan) : nil
    case .maxConcurrency:
      return pooled && plan.context > 0 ? poolTokens(plan).map { ($0 / plan.context * 100).rounded(.down) / 100 } : nil
    case .memoryUsed:
      // What nvidia-smi shows: a pooling engine fills its budget, the others use
      // what they planned; beside it, what the engine keeps outside its budget
      // (vLLM's CUDA context and graphs) and what other processes hold.
      guard let budget else { return nil }
      let profile = EngineProfile.profile(Engine(name: plan.engine))
      let outside = profile.runtimeOutsideBudget ? Double(profile.outsideBudgetBytes) : 0
      return (pooled ? budget.usableBytes : budget.usedBytes) + outside + budget.otherBytes
    case .cudaGraphs, .allReduceBusBandwidth, .peakMemory: return nil
    // What the cost model assumes the measured rate is: the catalog's peak times
    // its efficiency (every GEMM priced at the dense bf16 peak, fp8 ones too).
    case .hbmBandwidth:
      return spec(gpu, plan).map { Double($0.memoryBandwidthBytesPerSecond) * CostModel.memoryEfficiency }
    case .gemmBF16, .gemmFP8:
      return spec(gpu, plan).flatMap { $0.tflops.bf16 }.map { $0 * 1e12 * CostModel.computeEfficiency }
    }
  }

  /// The tokens a pooling engine's KV pool holds under the plan: on each GPU the
  /// pool (the plan's KV cache and its free memory) over the KV bytes of one token
  /// there (the plan's cache over its tokens), in whole blocks of the engine's
  /// paged cache, the fewest over the GPUs (vLLM takes the smallest worker's).
  static func poolTokens(_ plan: PlanFigures) -> Double? {
    let tokens = plan.context * plan.concurrency
    let block = Double(max(EngineProfile.profile(Engine(name: plan.engine)).kvBlockSize, 1))
    let perGPU = plan.gpus.compactMap { plan.devices[$0] }.filter { $0.kvCacheBytes > 0 }.map { device in
      ((device.kvCacheBytes + device.freeBytes) / (device.kvCacheBytes / tokens) / block).rounded(.down) * block
    }
    return tokens > 0 ? perGPU.min() : nil
  }

  /// The catalog entry of a plan's GPU, where its name is one the catalog knows.
  static func spec(_ gpu: Int?, _ plan: PlanFigures) -> GPUSpec? {
    gpu.flatMap { plan.devices[$0]?.gpuModel }.flatMap { GPUCatalog.spec(named: $0) }
  }

  /// The table: term, device, predicted, measured, error and which side is off.
  package func tableText() -> String {
    var lines = [
      "Reconcile \(log.engine.rawValue) log \(log.source): \(log.figures.count) figures read, \(log.skippedLines) other line\(log.skippedLines == 1 ? "" : "s") skipped"
        + (log.cutLines > 0 ? ", \(log.cutLines) lines cut at \(EngineLog.maximumLineBytes >> 10) KiB" : "")
    ]
    let header = ["Term", "Device", "Predicted", "Measured", "Error", ""]
    var table = [header]
    for row in rows {
      func show(_ value: Double?) -> String {
        guard let value else { return "—" }
        if row.term.isBytes { return Units.formatBytes(Int64(value.rounded())) }
        if row.term == .hbmBandwidth || row.term == .allReduceBusBandwidth {
          return Units.formatRate(Int64(value.rounded()))
        }
        if row.term == .gemmBF16 || row.term == .gemmFP8 {
          return Units.formatDecimal(value / 1e12, places: 1) + " TFLOP/s"
        }
        if row.term == .maxConcurrency { return Units.formatDecimal(value, places: 2) + "×" }
        if row.term == .decodeTokensPerSecond || row.term == .prefillTokensPerSecond {
          return Units.formatDecimal(value, places: 1) + " tokens/s"
        }
        return String(Int(value.rounded()))
      }
      let error = row.relativeError
      let side =
        error.map {
          abs($0) < 0.005
            ? "agree"
            : row.isEstimate
              ? ($0 > 0 ? "Ollama lower" : "Ollama higher") : ($0 > 0 ? "shardplan high" : "shardplan low")
        } ?? ""
      table.append([
        row.term.rawValue, row.device + (row.logDevice.map { $0 == row.device ? "" : " (\($0))" } ?? ""),
        show(row.predicted), show(row.measured),
        error.map { ($0 >= 0 ? "+" : "") + Units.formatDecimal($0 * 100, places: 1) + "%" } ?? "", side,
      ])
    }
    let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
    for row in table {
      lines.append(
        "  "
          + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
          .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
      )
    }
    if !notes.isEmpty { lines.append("Notes:") }
    lines += notes.map { "  - " + $0 }
    return lines.joined(separator: "\n") + "\n"
  }
}

extension Reconciliation {
  /// A calibration derived from reconciled logs, starting from `base` (what the
  /// plans were made with): HBM efficiency scaled by measured over predicted decode
  /// tokens/s, GEMM efficiency (bf16, or fp8 for fp8 weights) by measured over
  /// predicted prefill tokens/s — the means over the logs that have them, each
  /// capped at 1 — and each engine's measured fixed overhead per GPU model
  /// (vLLM's non-torch memory). A factor no log measures keeps `base`'s; the notes
  /// say which came from where.
  package static func calibration(
    from reconciliations: [Reconciliation],
    base: Calibration,
    source: String
  ) -> (Calibration, [String]) {
    var calibration = base
    calibration.source = source
    var notes: [String] = []
    func ratios(_ term: EngineLog.Term) -> [Double] {
      reconciliations.flatMap { item in
        item.rows.filter { $0.term == term && !$0.isEstimate }.compactMap { row in
          row.predicted.flatMap { $0 > 0 ? row.measured / $0 : nil }
        }
      }
    }
    func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
    let decode = ratios(.decodeTokensPerSecond)
    if decode.isEmpty {
      notes.append("no log has decode tokens/s: hbmEfficiency stays \(Calibration.decimal(base.hbmEfficiency))")
    } else {
      calibration.hbmEfficiency = min(1, base.hbmEfficiency * mean(decode))
      notes.append(
        "hbmEfficiency \(Calibration.decimal(calibration.hbmEfficiency)): \(Calibration.decimal(base.hbmEfficiency)) × measured/predicted decode tokens/s over \(decode.count) log(s)"
      )
    }
    let fp8 = reconciliations.contains { $0.plan?.weightFormat.lowercased().contains("fp8") == true }
    let type = fp8 ? "fp8" : "bf16"
    let prefill = ratios(.prefillTokensPerSecond)
    if !prefill.isEmpty {
      let old = base.gemmEfficiency(fp8: fp8)
      calibration.gemmEfficiency[type] = min(1, old * mean(prefill))
      notes.append(
        "gemmEfficiency.\(type) \(Calibration.decimal(calibration.gemmEfficiency[type] ?? 0)): \(Calibration.decimal(old)) × measured/predicted prefill tokens/s over \(prefill.count) log(s)"
      )
    }
    // `shardplan measure`'s lines measure the rates themselves: a rate over the
    // catalog's peak is the efficiency (its prediction is the peak times the
    // built-in efficiency), and they take the place of what tokens/s suggested.
    func measured(_ term: EngineLog.Term, assumed: Double) -> [Double] {
      ratios(term).map { $0 * assumed }
    }
    let hbm = measured(.hbmBandwidth, assumed: CostModel.memoryEfficiency)
    if !hbm.isEmpty {
      calibration.hbmEfficiency = min(1, mean(hbm))
      notes.removeAll { $0.hasPrefix("no log has decode tokens/s") }
      notes.append(
        "hbmEfficiency \(Calibration.decimal(calibration.hbmEfficiency)): a copy's bandwidth over the catalog's peak, \(hbm.count) GPU(s)"
      )
    }
    for (term, type) in [(EngineLog.Term.gemmBF16, "bf16"), (.gemmFP8, "fp8")] {
      let rates = measured(term, assumed: CostModel.computeEfficiency)
      guard !rates.isEmpty else { continue }
      calibration.gemmEfficiency[type] = min(1, mean(rates))
      notes.append(
        "gemmEfficiency.\(type) \(Calibration.decimal(calibration.gemmEfficiency[type] ?? 0)): GEMM FLOP/s at the plan's shapes over the dense bf16 peak, \(rates.count) GPU(s)"
      )
    }
    for item in reconciliations {
      for row in item.rows where row.term == .allReduceBusBandwidth {
        guard let kind = row.logDevice.flatMap(LinkKind.init(rawValue:)) else {
          notes.append("an all-reduce over \(row.logDevice ?? "an unknown link") (no GPU link kind) is not used")
          continue
        }
        let rate = Int64(row.measured.rounded())
        calibration.allReduceBusBandwidth[kind] = min(calibration.allReduceBusBandwidth[kind] ?? .max, rate)
        notes.append("allReduceBusBandwidth.\(kind.rawValue) \(Units.formatRate(rate)) measured")
      }
    }
    for item in reconciliations {
      guard let plan = item.plan, let engine = Engine(rawValue: plan.engine) else { continue }
      let overheads = item.rows.filter { $0.term == .overheads && !$0.isEstimate }
      guard let largest = overheads.map(\.measured).max(), largest > 0,
        let gpu = plan.gpus.first.flatMap({ plan.devices[$0]?.gpuModel })
      else { continue }
      calibration.engineOverheads.removeAll { $0.engine == engine && $0.gpu == gpu }
      calibration.engineOverheads.append(.init(engine: engine, gpu: gpu, bytes: Int64(largest.rounded())))
      notes.append(
        "engineOverheads \(engine.rawValue) on \(gpu): \(Units.formatBytes(Int64(largest.rounded()))) measured"
      )
    }
    return (calibration, notes)
  }
}

extension InferenceRequest {
  /// The request as the logged run served it: for llama.cpp, with the flash
  /// attention and the physical batch (`n_ubatch`) its log states, which size
  /// the compute buffer; for vLLM, with the sequences and tokens its start-up
  /// profile ran (`max_num_seqs`, vLLM's default 256 where the log does not
  /// say, and `max_num_batched_tokens`), which size the profile's peak. Each
  /// change is said in the profile's sources, so the plan's assumptions show it.
  package func servingAsLogged(_ log: EngineLog) -> InferenceRequest {
    var logged = profile
    if profile.profilesSampler {
      let sequences = log.maxSequences ?? profile.maxSequences
      logged.profiledSequences = sequences
      logged.sources.append(
        "the start-up profile samples \(sequences) sequences, as the log's run"
          + (log.maxSequences == nil ? " (max_num_seqs is not in the log: vLLM's default)" : " (max_num_seqs)")
      )
      if let tokens = log.batchedTokens, tokens > 0, tokens != logged.batchTokens {
        logged.batchTokens = tokens
        logged.sources.append("max_num_batched_tokens \(tokens), as the log's run")
      }
      return serving(with: logged)
    }
    guard profile.activationRule == .computeBuffer else { return self }
    if let flash = log.flashAttention, flash != logged.flashAttention {
      logged.flashAttention = flash
      logged.sources.append("flash attention \(flash ? "on" : "off"), as the log's run (flash_attn = \(flash ? 1 : 0))")
    }
    if let microBatch = log.microBatch, microBatch > 0, microBatch != logged.batchTokens {
      logged.batchTokens = microBatch
      logged.sources.append("n_ubatch \(microBatch), as the log's run")
    }
    return logged == profile ? self : serving(with: logged)
  }
}

extension Planner {
  /// The decode rate of `plan`'s layout over the cache a logged llama.cpp run
  /// filled on average (``EngineLog/decodeFill``: its timed prompt and half its
  /// generation), which is what the log's `eval time` measured, rather than over
  /// the whole context the plan prices. Nil when the log times no generation,
  /// fills the whole context, or the smaller cache would change the layout.
  package func decodeAsLogged(
    _ request: InferenceRequest,
    plan: Plan,
    log: EngineLog
  ) -> (tokensPerSecond: Double, context: Int)? {
    guard let fill = log.decodeFill, fill < request.context else { return nil }
    var filled = request
    filled.context = fill
    let again = self.plan(filled)
    guard let workload = again.workloads.first, let original = plan.workloads.first,
      workload.stages == original.stages, workload.gpuLayers == original.gpuLayers
    else { return nil }
    return (workload.prediction.decodeTokensPerSecond, fill)
  }
}
