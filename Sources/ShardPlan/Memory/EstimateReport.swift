import Foundation

/// What `shardplan estimate` prints: the estimate, the same model at other
/// precisions, the total under each engine, and the cards it fits on.
package struct EstimateReport: Sendable {
  package var model: ModelSpec
  /// The model as read, before `--dtype` or `--quant`, for the by-precision table.
  package var original: ModelSpec
  package var workload: Workload
  package var estimate: MemoryEstimate

  /// One row of the by-precision table (what `accelerate estimate-memory` shows,
  /// with quantization overheads counted).
  package struct PrecisionRow: Hashable, Sendable, Codable {
    package var format: String
    package var weightBytes: Int64
    package var largestLayerBytes: Int64
    /// Full training with mixed-precision AdamW, model states only:
    /// 16 bytes per parameter (2 weights + 2 gradients + 12 optimizer).
    package var trainingAdamBytes: Int64?
  }

  /// One engine's total for the same workload.
  package struct EngineRow: Hashable, Sendable, Codable {
    package var engine: String
    package var perGPUBytes: Int64
    package var kvCacheBytes: Int64
    package var activationBytes: Int64
    package var overheadBytes: Int64
  }

  /// A catalog card and whether one GPU's share fits on it.
  package struct CardFit: Hashable, Sendable, Codable {
    package var gpu: String
    package var memoryBytes: Int64
    /// Memory the engine may use on the card (its memory fraction applied).
    package var usableBytes: Int64
    package var fits: Bool
  }

  package init(model: ModelSpec, original: ModelSpec? = nil, workload: Workload, estimate: MemoryEstimate) {
    self.model = model
    self.original = original ?? model
    self.workload = workload
    self.estimate = estimate
  }

  /// The model's weights at the common precisions (not for GGUF files).
  package var byPrecision: [PrecisionRow] {
    guard !original.tensorSource.isGGUF else { return [] }
    let formats: [WeightFormat] = [.float(.f32), .float(.bf16), .fp8, .int8, .int4, .nf4]
    return formats.map { format in
      let converted = original.converted(to: format)
      let float: Bool = if case .float = format { true } else { false }
      return PrecisionRow(
        format: format.label,
        weightBytes: converted.weightBytes,
        largestLayerBytes: converted.largestLayerBytes,
        trainingAdamBytes: float ? model.parameters * 16 : nil
      )
    }
  }

  /// The same inference workload under every engine.
  package var byEngine: [EngineRow] {
    guard case .inference = workload.mode else { return [] }
    return Engine.allCases.map { engine in
      var other = workload
      other.engine = engine
      let result = MemoryModel.estimate(
        model: model,
        workload: other,
        weights: PlannedWeights(label: estimate.weightFormat)
      )
      return EngineRow(
        engine: engine.rawValue,
        perGPUBytes: result.perGPUBytes,
        kvCacheBytes: result.kvCacheBytes,
        activationBytes: result.activationBytes,
        overheadBytes: result.overheadBytes
      )
    }
  }

  /// Every catalog card, largest first, with whether one GPU's share fits.
  package var fits: [CardFit] {
    let fraction = EngineProfile.profile(workload.engine).memoryFraction ?? 1.0
    let training: Bool = if case .training = workload.mode { true } else { false }
    return GPUCatalog.all.sorted { ($0.memoryBytes, $1.id) > ($1.memoryBytes, $0.id) }.map { spec in
      let usable = training ? spec.memoryBytes : Int64(Double(spec.memoryBytes) * fraction)
      return CardFit(
        gpu: spec.id,
        memoryBytes: spec.memoryBytes,
        usableBytes: usable,
        fits: estimate.perGPUBytes <= usable
      )
    }
  }

  private struct JSONForm: Encodable {
    var schemaVersion = 1
    var estimate: MemoryEstimate
    var byPrecision: [PrecisionRow]
    var byEngine: [EngineRow]
    var fitsOn: [String]
    var cards: [CardFit]

    enum CodingKeys: String, CodingKey { case schemaVersion, byPrecision, byEngine, fitsOn, cards }

    func encode(to encoder: any Encoder) throws {
      // The estimate's fields sit at the top level, next to the tables.
      try estimate.encode(to: encoder)
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(schemaVersion, forKey: .schemaVersion)
      try container.encode(byPrecision, forKey: .byPrecision)
      try container.encode(byEngine, forKey: .byEngine)
      try container.encode(fitsOn, forKey: .fitsOn)
      try container.encode(cards, forKey: .cards)
    }
  }

  /// Stable JSON: sorted keys, integers in bytes.
  package func jsonText() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let cards = fits
    let form = JSONForm(
      estimate: estimate,
      byPrecision: byPrecision,
      byEngine: byEngine,
      fitsOn: cards.filter(\.fits).map(\.gpu),
      cards: cards
    )
    return String(decoding: try encoder.encode(form), as: UTF8.self) + "\n"
  }

  /// The human-readable report.
  package func tableText() -> String {
    let e = estimate
    func gib(_ bytes: Int64) -> String { Units.formatBytes(bytes) }
    func count(_ value: Int64) -> String {
      value >= 1_000_000_000
        ? Units.formatDecimal(Double(value) / 1e9, places: 2) + " B"
        : Units.formatDecimal(Double(value) / 1e6, places: 1) + " M"
    }
    var out = "Model: \(e.model) (\(e.family)), tensors from \(model.tensorSource)\n"
    out += "Parameters: \(count(e.parameters))"
    if e.activeParameters != e.parameters { out += " (\(count(e.activeParameters)) active per token)" }
    out += ", \(e.layers) layers, weights as \(e.weightFormat)\n"
    out += "Weights: \(gib(e.weightBytes)) (\(e.weightBytes) bytes); largest layer \(gib(e.largestLayerBytes))\n"
    let rows = byPrecision
    if !rows.isEmpty {
      out += "\nBy precision (quantization scales and zero points included):\n"
      var table: [[String]] = [["  dtype", "Largest layer", "Total size", "Training, AdamW (model states)"]]
      for row in rows {
        table.append([
          "  " + row.format, gib(row.largestLayerBytes), gib(row.weightBytes), row.trainingAdamBytes.map(gib) ?? "-",
        ])
      }
      out += DeviceGraph.columns(table, indent: "")
    }
    switch workload.mode {
    case .inference:
      out +=
        "\nInference: \(e.batch) sequence(s) × \(e.context) tokens, \(e.engine), KV cache \(e.kvCacheType), \(e.gpus) GPU(s)\n"
      let kvPerGPU = e.kvCacheBytes / Int64(max(e.gpus, 1))
      var table: [[String]] = [
        [
          "  weights", gib(e.weightBytesPerGPU),
          (e.gpus > 1 ? "per GPU (1/\(e.gpus))" : "")
            + (e.cpuBytes > 0
              ? "\(e.gpus > 1 ? "; " : "")the token embedding (\(gib(e.cpuBytes))) stays in host memory" : ""),
        ],
        ["  KV cache", gib(kvPerGPU), "\(Units.formatBytes(e.kvBytesPerToken)) per token over all layers"],
      ]
      if e.stateBytesPerSequence > 0 {
        table.append([
          "  recurrent state", gib(e.stateBytes / Int64(max(e.gpus, 1))),
          "\(Units.formatBytes(e.stateBytesPerSequence)) per sequence, whatever the context",
        ])
      }
      table += [
        ["  activations", gib(e.activationBytes), "peak of one forward pass"],
        ["  overheads", gib(e.overheadBytes), "CUDA context, graphs, NCCL"],
        [
          "  total per GPU", gib(e.perGPUBytes),
          (e.gpus > 1 ? "\(gib(e.totalBytes)) over \(e.gpus) GPUs" : "")
            + (e.cpuBytes > 0 ? "\(e.gpus > 1 ? ", " : "")plus \(gib(e.cpuBytes)) in host memory" : ""),
        ],
      ]
      out += DeviceGraph.columns(table, indent: "")
      table = [["  engine", "per GPU", "KV cache", "activations", "overheads"]]
      for row in byEngine {
        table.append([
          "  " + row.engine, gib(row.perGPUBytes), gib(row.kvCacheBytes / Int64(max(e.gpus, 1))),
          gib(row.activationBytes),
          gib(row.overheadBytes),
        ])
      }
      out += "\nSame workload by engine:\n" + DeviceGraph.columns(table, indent: "")
    case .training:
      out += "\nTraining: micro-batch \(e.batch) × \(e.context) tokens on \(e.gpus) GPU(s)\n"
      var table: [[String]] = []
      table.append(["  trainable parameters", count(e.trainableParameters ?? 0), ""])
      table.append(["  gradients", gib(e.gradientBytes ?? 0), "whole model, before ZeRO sharding"])
      table.append(["  optimizer states", gib(e.optimizerBytes ?? 0), "whole model, before ZeRO sharding"])
      table.append(["  activations", gib(e.activationBytes), "per GPU"])
      table.append(["  overheads", gib(e.overheadBytes), "per GPU"])
      table.append(["  total per GPU", gib(e.perGPUBytes), e.cpuBytes > 0 ? "plus \(gib(e.cpuBytes)) in CPU RAM" : ""])
      if let deepSpeed = e.deepSpeedEstimatePerGPUBytes {
        let cpu =
          e.deepSpeedEstimateCPUBytes.map { ", and \(gib($0)) of CPU RAM per node with its 1.5× buffer factor" } ?? ""
        table.append([
          "  DeepSpeed's estimator", gib(deepSpeed),
          "model states only, every parameter trained (DeepSpeed 0.19.8's formula)\(cpu)",
        ])
      }
      out += DeviceGraph.columns(table, indent: "")
    }
    let cards = fits
    let fitting = cards.filter(\.fits).map(\.gpu)
    out +=
      "\nFits on one GPU's share: \(fitting.isEmpty ? "none of the catalog's cards" : fitting.joined(separator: ", "))\n"
    if let fraction = EngineProfile.profile(workload.engine).memoryFraction, case .inference = workload.mode {
      out += "  (using \(Int(fraction * 100))% of each card, as \(workload.engine.rawValue) does)\n"
    }
    out += "\nCounts:\n" + e.counts.map { "  - \($0)\n" }.joined()
    out += "Leaves out:\n" + e.leavesOut.map { "  - \($0)\n" }.joined()
    if !e.notes.isEmpty { out += "Notes:\n" + e.notes.map { "  - \($0)\n" }.joined() }
    return out
  }
}
