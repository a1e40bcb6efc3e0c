import Foundation

extension Plan {
  /// Stable JSON (sorted keys; bytes and tokens per second as numbers).
  public func jsonText() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    struct Form: Encodable {
      var schemaVersion = Plan.schemaVersion
      var plan: Plan
      enum CodingKeys: String, CodingKey { case schemaVersion }
      func encode(to encoder: any Encoder) throws {
        try plan.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schemaVersion, forKey: .schemaVersion)
      }
    }
    return String(decoding: try encoder.encode(Form(plan: self)), as: UTF8.self) + "\n"
  }

  /// A per-GPU memory bar of `width` characters over the card's capacity:
  /// x memory others hold, W weights, G gradients, S optimizer states, K KV cache,
  /// A activations, O overheads, `.` free within the budget, `|` where the
  /// engine's budget ends and `-` the part of the card outside it (the memory
  /// fraction an engine leaves); `!` when the use runs past the card.
  static func bar(_ device: DeviceBudget, width: Int = 40) -> String {
    guard device.capacityBytes > 0 else { return "" }
    let scale = Double(width) / Double(device.capacityBytes)
    var text = ""
    // Each part ends where its running total falls on the bar, so the parts
    // together are exactly the rounded whole (and end inside the budget when they fit).
    var total: Int64 = 0
    for (bytes, mark) in [
      (device.otherBytes, "x"), (device.weightBytes, "W"), (device.gradientBytes, "G"), (device.optimizerBytes, "S"),
      (device.kvCacheBytes, "K"), (device.activationBytes, "A"), (device.overheadBytes, "O"),
    ] {
      total += max(bytes, 0)
      let end = Int((Double(total) * scale).rounded())
      text += String(repeating: mark, count: max(0, end - text.count))
    }
    if text.count > width { return String(text.prefix(width - 1)) + "!" }
    // The budget's end, on the card's scale (what others hold is inside it).
    let budget = min(width, Int((Double(device.otherBytes + device.usableBytes) * scale).rounded()))
    guard budget < width else { return text + String(repeating: ".", count: width - text.count) }
    if text.count >= budget { return text + String(repeating: "-", count: width - text.count) }
    return text + String(repeating: ".", count: budget - text.count) + "|"
      + String(repeating: "-", count: max(0, width - budget - 1))
  }

  static func trainingText(_ workload: WorkloadPlan, _ training: TrainingPlan) -> String {
    var out =
      "\nWorkload \(workload.role): \(training.method.rawValue) training of \(workload.model) (\(workload.weights.label) weights, \(training.mixedPrecision) mixed precision), \(training.optimizer.rawValue)\n"
    let sharding =
      training.trainer == .fsdp
      ? "FSDP \(training.fsdpShardingStrategy)\(training.offload != .none ? " with parameters offloaded to CPU" : "")"
      : "DeepSpeed ZeRO-\(training.zeroStage)\(training.offload != .none ? " with offload to \(training.offload.rawValue)" : "")"
    let gpus = workload.replicaDevices.flatMap { $0 }.map(String.init).joined(separator: ",")
    out +=
      "  layout: data parallel over \(workload.dataParallel) GPU(s) (\(gpus)) on \(training.nodes) node(s) × \(training.processesPerNode), \(sharding)\(training.gradientCheckpointing ? ", gradient checkpointing" : "")\n"
    if let rank = training.loraRank {
      out +=
        "  adapters: LoRA rank \(rank) on \(training.loraTargets?.joined(separator: ", ") ?? "all linear layers"), \(Units.formatDecimal(Double(training.trainableParameters) / 1e6, places: 1)) M trainable parameters\n"
    }
    out +=
      "  batch: \(training.microBatch) × \(training.sequence) tokens per GPU, \(training.gradientAccumulation) accumulation step(s), global batch \(training.globalBatch) sequences\n"
    if training.offloadBytesPerNode > 0 {
      out +=
        "  \(training.offload == .nvme ? "NVMe" : "CPU RAM") for offloaded states: \(Units.formatBytes(training.offloadBytesPerNode)) per node\n"
    }
    out +=
      "  predicted: \(Units.formatDecimal(training.stepSeconds, places: 2)) s per optimizer step\(training.offloadSeconds > 0 ? " (\(Units.formatDecimal(training.offloadSeconds, places: 2)) s of it CPU offload: PCIe copies and the CPU optimizer step)" : ""), \(Units.formatDecimal(training.tokensPerSecond, places: 0)) tokens/s at \(Int(training.mfu * 100))% MFU\n"
    return out
  }

  /// The human-readable plan.
  /// - Parameter fixFlags: how the caller's tool spells a fix (shown after it in
  ///   parentheses), or nil where it has no spelling.
  package func tableText(fixFlags: (Fix) -> String? = { _ in nil }) -> String {
    var out = "Plan on \(topology) (objective: \(objective.rawValue)) — verdict: \(verdict.rawValue)\n"
    for reason in reasons { out += "  \(reason)\n" }
    for workload in workloads {
      if let training = workload.training {
        out += Plan.trainingText(workload, training)
        continue
      }
      out +=
        "\nWorkload \(workload.role): \(workload.model) as \(workload.weights.label), \(workload.concurrency) × \(workload.context) tokens, \(workload.prediction.encodeTokensPerSecond == nil ? "KV \(workload.kvCache?.rawValue ?? "none")" : "no KV cache (an encoder)"), \(workload.engine.rawValue)\n"
      if let state = workload.recurrentStateBytesPerSequence {
        out +=
          "  recurrent state: \(Units.formatBytes(state)) per sequence whatever the context, \(Units.formatBytes(state * Int64(workload.concurrency))) for \(workload.concurrency) (in the K column)\n"
      }
      if let experts = workload.cpuExpertLayers {
        out +=
          "  layout: all layers on GPU \(workload.stages.first?.devices.map(String.init).joined(separator: ",") ?? "-"), the routed experts of layers 0–\(experts - 1) in CPU RAM (\(Units.formatBytes(cpuBytes)); llama.cpp --n-cpu-moe \(experts))\n"
      } else if workload.strategy == .expert {
        out +=
          "  layout: expert parallel over \(workload.expertParallel) GPUs (\(workload.stages.flatMap(\.devices).map(String.init).joined(separator: ","))), attention TP \(workload.tensorParallel) × DP \(workload.dataParallel)\n"
        if let imbalance = workload.expertLoadImbalance {
          let replicas = workload.redundantExperts ?? 0
          out += "  expert load: busiest GPU \(Units.formatDecimal(imbalance, places: 2))× the mean"
          out += replicas > 0 ? " with \(replicas) replica slots for hot experts (EPLB)\n" : "\n"
        }
      } else if let cpu = workload.cpuLayers {
        let gpus = workload.stages.flatMap(\.devices).map(String.init).joined(separator: ",")
        out +=
          "  layout: \(workload.gpuLayers ?? 0) layers on GPU \(gpus.isEmpty ? "-" : gpus), \(cpu) in CPU RAM (\(Units.formatBytes(cpuBytes)))\n"
        if workload.stages.count > 1 {
          for stage in workload.stages {
            out +=
              "  GPU \(stage.devices.map(String.init).joined(separator: ",")): layers \(stage.firstLayer)–\(stage.lastLayer)\n"
          }
        }
      } else {
        out += "  layout: TP \(workload.tensorParallel) × PP \(workload.pipelineParallel)"
        out += workload.dataParallel > 1 ? " × DP \(workload.dataParallel) replicas\n" : "\n"
        for (index, stage) in workload.stages.enumerated() {
          out +=
            "  stage \(index): GPU \(stage.devices.map(String.init).joined(separator: ",")), layers \(stage.firstLayer)–\(stage.lastLayer)\n"
        }
        if workload.replicaDevices.count > 1 {
          let others = workload.replicaDevices.dropFirst().map { $0.map(String.init).joined(separator: ",") }
          out += "  replicas 1–\(others.count): GPU \(others.joined(separator: " | "))\n"
        }
        if let partition = workload.vllmLayerPartition {
          out += "  vLLM needs VLLM_PP_LAYER_PARTITION=\(partition) (its default split differs)\n"
        }
      }
      let p = workload.prediction
      if let encode = p.encodeTokensPerSecond {
        let sequences = encode / Double(max(workload.context, 1))
        out +=
          "  predicted: encoding \(Units.formatDecimal(encode, places: 0)) tokens/s over the deployment (\(Units.formatDecimal(sequences, places: 1)) sequences of \(workload.context) tokens per second), \(Units.formatDecimal(p.timeToFirstTokenSeconds * 1000, places: 1)) ms per sequence; no decode (an encoder)\n"
        continue
      }
      out +=
        "  predicted: prefill \(Units.formatDecimal(p.prefillTokensPerSecond, places: 0)) tokens/s (TTFT \(Units.formatDecimal(p.timeToFirstTokenSeconds, places: 2)) s), decode \(Units.formatDecimal(p.decodeTokensPerSecond, places: 1)) tokens/s per sequence, \(Units.formatDecimal(p.aggregateDecodeTokensPerSecond, places: 0)) in aggregate; decode bound by \(p.decodeBound)\n"
    }
    let trains = workloads.contains { $0.training != nil }
    out +=
      "\nGPU budgets (Budget: what the engine may use; Free = Budget − Used. Bar over the card: W weights, \(trains ? "G gradients, S optimizer states, " : "")K KV cache, A activations, O overheads, x others, . free, | end of the budget, - outside it):\n"
    var rows: [[String]] = [["  GPU", "Name", "Capacity", "Budget", "Used", "Free", "Verdict", "Memory"]]
    for device in devices {
      rows.append([
        "  \(device.index)", device.name, Units.formatBytes(device.capacityBytes),
        Units.formatBytes(device.usableBytes),
        Units.formatBytes(device.usedBytes), Units.formatBytes(device.freeBytes), device.verdict.rawValue,
        Plan.bar(device),
      ])
    }
    if let ram = cpuVerdict {
      // The bytes kept off the GPUs, against the RAM of their hosts: the plan's
      // verdict is the worst of this row and the GPU rows.
      let capacity = cpuRAMBytes.map(Units.formatBytes) ?? "unknown"
      rows.append([
        "  CPU", ram == .fits ? "host RAM" : "host RAM (offloaded)", capacity, capacity, Units.formatBytes(cpuBytes),
        cpuRAMBytes.map { Units.formatBytes($0 - cpuBytes) } ?? "-", ram.rawValue,
        ram == .doesNotFit
          ? "short of RAM"
          : (ram == .fits
            ? "what the engine keeps in host memory (llama.cpp: the token embedding)"
            : "works, at the offload speed above"),
      ])
    }
    out += DeviceGraph.columns(rows, indent: "")
    if !fixes.isEmpty {
      out +=
        "\nTo make it fit, any one of:\n"
        + fixes.map { fix in "  - \(fix)\(fixFlags(fix).map { " (\($0))" } ?? "")\n" }.joined()
    }
    if !alternatives.isEmpty {
      out += "\nAlternatives:\n"
      for alternative in alternatives {
        let speed =
          trains ? "" : ", \(Units.formatDecimal(alternative.aggregateDecodeTokensPerSecond, places: 0)) tokens/s"
        out += "  - \(alternative.summary): \(alternative.verdict.rawValue)\(speed) — \(alternative.whyNot)\n"
      }
    }
    out += "\nAssumptions:\n" + assumptions.map { "  - \($0)\n" }.joined()
    return out
  }
}
