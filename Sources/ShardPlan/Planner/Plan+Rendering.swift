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
    for part in MemoryPart.stack {
      total += part.bytes(device)
      let end = Int((Double(total) * scale).rounded())
      text += String(repeating: part.letter, count: max(0, end - text.count))
    }
    if text.count > width { return String(text.prefix(width - 1)) + "!" }
    // The budget's end, on the card's scale (what others hold is inside it).
    let budget = min(width, Int((Double(device.otherBytes + device.usableBytes) * scale).rounded()))
    guard budget < width else { return text + String(repeating: ".", count: width - text.count) }
    if text.count >= budget { return text + String(repeating: "-", count: width - text.count) }
    return text + String(repeating: ".", count: budget - text.count) + "|"
      + String(repeating: "-", count: max(0, width - budget - 1))
  }

  static func trainingSummary(_ workload: WorkloadPlan, _ training: TrainingPlan) -> WorkloadSummary {
    let title =
      "Workload \(workload.role): \(training.method.rawValue) training of \(workload.model) (\(workload.weights.label) weights, \(training.mixedPrecision) mixed precision), \(training.optimizer.rawValue)"
    let sharding =
      training.trainer == .fsdp
      ? "FSDP \(training.fsdpShardingStrategy)\(training.offload != .none ? " with parameters offloaded to CPU" : "")"
      : "DeepSpeed ZeRO-\(training.zeroStage)\(training.offload != .none ? " with offload to \(training.offload.rawValue)" : "")"
    let gpus = workload.replicaDevices.flatMap { $0 }.map(String.init).joined(separator: ",")
    var lines = [
      "layout: data parallel over \(workload.dataParallel) GPU(s) (\(gpus)) on \(training.nodes) node(s) × \(training.processesPerNode), \(sharding)\(training.gradientCheckpointing ? ", gradient checkpointing" : "")"
    ]
    if let rank = training.loraRank {
      lines.append(
        "adapters: LoRA rank \(rank) on \(training.loraTargets?.joined(separator: ", ") ?? "all linear layers"), \(Units.formatDecimal(Double(training.trainableParameters) / 1e6, places: 1)) M trainable parameters"
      )
    }
    lines.append(
      "batch: \(training.microBatch) × \(training.sequence) tokens per GPU, \(training.gradientAccumulation) accumulation step(s), global batch \(training.globalBatch) sequences"
    )
    if training.offloadBytesPerNode > 0 {
      lines.append(
        "\(training.offload == .nvme ? "NVMe" : "CPU RAM") for offloaded states: \(Units.formatBytes(training.offloadBytesPerNode)) per node"
      )
    }
    let prediction =
      ("predicted: \(Units.formatDecimal(training.stepSeconds, places: 2)) s per optimizer step\(training.offloadSeconds > 0 ? " (\(Units.formatDecimal(training.offloadSeconds, places: 2)) s of it CPU offload: PCIe copies and the CPU optimizer step)" : ""), \(Units.formatDecimal(training.tokensPerSecond, places: 0)) tokens/s at \(Int(training.mfu * 100))% MFU")
    return WorkloadSummary(title: title, layout: lines, prediction: prediction)
  }

  /// One workload in words: a title line, and the lines under it (layout,
  /// stages, expert load, prediction), as the table and the HTML report show it.
  package func workloadSummary(_ workload: WorkloadPlan) -> WorkloadSummary {
    if let training = workload.training { return Plan.trainingSummary(workload, training) }
    var lines: [String] = []
    let title =
      "Workload \(workload.role): \(workload.model) as \(workload.weights.label), \(workload.concurrency) × \(workload.context) tokens, \(workload.prediction.encodeTokensPerSecond == nil ? "KV \(workload.kvCache?.rawValue ?? "none")" : "no KV cache (an encoder)"), \(workload.engine.rawValue)"
    if let state = workload.recurrentStateBytesPerSequence {
      lines.append(
        "recurrent state: \(Units.formatBytes(state)) per sequence whatever the context, \(Units.formatBytes(state * Int64(workload.concurrency))) for \(workload.concurrency) (in the K column)"
      )
    }
    if let experts = workload.cpuExpertLayers {
      lines.append(
        "layout: all layers on GPU \(workload.stages.first?.devices.map(String.init).joined(separator: ",") ?? "-"), the routed experts of layers 0–\(experts - 1) in CPU RAM (\(Units.formatBytes(cpuBytes)); llama.cpp --n-cpu-moe \(experts))"
      )
    } else if workload.strategy == .expert {
      lines.append(
        "layout: expert parallel over \(workload.expertParallel) GPUs (\(workload.stages.flatMap(\.devices).map(String.init).joined(separator: ","))), attention TP \(workload.tensorParallel) × DP \(workload.dataParallel)"
      )
      if let imbalance = workload.expertLoadImbalance {
        let replicas = workload.redundantExperts ?? 0
        lines.append(
          "expert load: busiest GPU \(Units.formatDecimal(imbalance, places: 2))× the mean"
            + (replicas > 0 ? " with \(replicas) replica slots for hot experts (EPLB)" : "")
        )
      }
    } else if let cpu = workload.cpuLayers {
      let gpus = workload.stages.flatMap(\.devices).map(String.init).joined(separator: ",")
      lines.append(
        "layout: \(workload.gpuLayers ?? 0) layers on GPU \(gpus.isEmpty ? "-" : gpus), \(cpu) in CPU RAM (\(Units.formatBytes(cpuBytes)))"
      )
      if workload.stages.count > 1 {
        for stage in workload.stages {
          lines.append(
            "GPU \(stage.devices.map(String.init).joined(separator: ",")): layers \(stage.firstLayer)–\(stage.lastLayer)"
          )
        }
      }
    } else {
      lines.append(
        "layout: TP \(workload.tensorParallel) × PP \(workload.pipelineParallel)"
          + (workload.dataParallel > 1 ? " × DP \(workload.dataParallel) replicas" : "")
      )
      for (index, stage) in workload.stages.enumerated() {
        lines.append(
          "stage \(index): GPU \(stage.devices.map(String.init).joined(separator: ",")), layers \(stage.firstLayer)–\(stage.lastLayer)"
        )
      }
      if workload.replicaDevices.count > 1 {
        let others = workload.replicaDevices.dropFirst().map { $0.map(String.init).joined(separator: ",") }
        lines.append("replicas 1–\(others.count): GPU \(others.joined(separator: " | "))")
      }
      if let partition = workload.vllmLayerPartition {
        lines.append("vLLM needs VLLM_PP_LAYER_PARTITION=\(partition) (its default split differs)")
      }
    }
    let p = workload.prediction
    let prediction: String
    if let encode = p.encodeTokensPerSecond {
      let sequences = encode / Double(max(workload.context, 1))
      prediction =
        ("predicted: encoding \(Units.formatDecimal(encode, places: 0)) tokens/s over the deployment (\(Units.formatDecimal(sequences, places: 1)) sequences of \(workload.context) tokens per second), \(Units.formatDecimal(p.timeToFirstTokenSeconds * 1000, places: 1)) ms per sequence; no decode (an encoder)")
    } else {
      prediction =
        ("predicted: prefill \(Units.formatDecimal(p.prefillTokensPerSecond, places: 0)) tokens/s (TTFT \(Units.formatDecimal(p.timeToFirstTokenSeconds, places: 2)) s), decode \(Units.formatDecimal(p.decodeTokensPerSecond, places: 1)) tokens/s per sequence, \(Units.formatDecimal(p.aggregateDecodeTokensPerSecond, places: 0)) in aggregate; decode bound by \(p.decodeBound)")
    }
    return WorkloadSummary(title: title, layout: lines, prediction: prediction)
  }

  /// The human-readable plan.
  /// - Parameter fixFlags: how the caller's tool spells a fix (shown after it in
  ///   parentheses), or nil where it has no spelling.
  /// - Parameter colors: colour the memory bars as the HTML report does (ANSI
  ///   24-bit colour; for a terminal).
  package func tableText(fixFlags: (Fix) -> String? = { _ in nil }, colors: Bool = false) -> String {
    var out = "Plan on \(topology) (objective: \(objective.rawValue)) — verdict: \(verdict.rawValue)\n"
    for reason in reasons { out += "  \(reason)\n" }
    for workload in workloads {
      let summary = workloadSummary(workload)
      out += "\n\(summary.title)\n" + (summary.layout + [summary.prediction]).map { "  \($0)\n" }.joined()
    }
    let trains = workloads.contains { $0.training != nil }
    out +=
      "\nGPU budgets (Budget: what the engine may use; Free = Budget − Used. Bar over the card: W weights, \(trains ? "G gradients, S optimizer states, " : "")K KV cache, A activations, O overheads, x others, . free, | end of the budget, - outside it):\n"
    // The shared columns, indented, then the bar of each GPU (coloured after the
    // columns are aligned, so that escape codes do not count as width) and what
    // the host-RAM row means.
    let budget = budgetRows()
    var rows = [["  " + budget[0][0]] + budget[0].dropFirst() + ["Memory"]]
    for (device, row) in zip(devices, budget.dropFirst()) {
      rows.append(["  " + row[0]] + row.dropFirst() + [Plan.bar(device)])
    }
    if let ram = cpuVerdict, let row = budget.last {
      rows.append(
        ["  " + row[0]] + row.dropFirst() + [
          ram == .doesNotFit
            ? "short of RAM"
            : (ram == .fits
              ? "what the engine keeps in host memory (llama.cpp: the token embedding)"
              : "works, at the offload speed above")
        ]
      )
    }
    var lines = DeviceGraph.columns(rows, indent: "").split(separator: "\n", omittingEmptySubsequences: false)
      .map(String.init)
    if colors {
      for (offset, device) in devices.enumerated() where lines.indices.contains(offset + 1) {
        let bar = Plan.bar(device)
        guard !bar.isEmpty, lines[offset + 1].hasSuffix(bar) else { continue }
        lines[offset + 1] = String(lines[offset + 1].dropLast(bar.count)) + TerminalColor.bar(bar)
      }
    }
    out += lines.joined(separator: "\n")
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

extension Plan {
  /// The budget table's rows, header first: each GPU's capacity, budget, use,
  /// free memory and verdict, then host RAM when the plan keeps bytes off the
  /// GPUs (its verdict is part of the plan's). The text table and the HTML
  /// report show these rows.
  package func budgetRows() -> [[String]] {
    var rows = [["GPU", "Name", "Capacity", "Budget", "Used", "Free", "Verdict"]]
    for device in devices {
      rows.append([
        "\(device.index)", device.name, Units.formatBytes(device.capacityBytes), Units.formatBytes(device.usableBytes),
        Units.formatBytes(device.usedBytes), Units.formatBytes(device.freeBytes), device.verdict.rawValue,
      ])
    }
    if let ram = cpuVerdict {
      let capacity = cpuRAMBytes.map(Units.formatBytes) ?? "unknown"
      rows.append([
        "CPU", ram == .fits ? "host RAM" : "host RAM (offloaded)", capacity, capacity, Units.formatBytes(cpuBytes),
        cpuRAMBytes.map { Units.formatBytes($0 - cpuBytes) } ?? "-", ram.rawValue,
      ])
    }
    return rows
  }
}

/// One workload in words: its title, the lines of its layout (layout, stages,
/// adapters, batch, expert load …) and the line of its predicted speed.
package struct WorkloadSummary {
  package var title: String
  package var layout: [String]
  package var prediction: String
}
