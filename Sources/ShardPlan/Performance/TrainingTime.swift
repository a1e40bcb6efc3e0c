import Foundation

/// Time to train a model on a set of GPUs: F · N · D FLOPs (N active parameters,
/// D tokens, F = 6 for full training — Kaplan et al. 2020, "Transformer Math 101" —
/// and 8 with gradient checkpointing's second forward pass) at a model-FLOPs
/// utilisation (MFU) of the slowest GPU's dense bf16 peak. The setup, its memory and
/// its step time are the planner's: ``Planner/planTraining(_:)`` prices full
/// training with AdamW, data parallel over every GPU, with the lightest ZeRO stage,
/// checkpointing and offload that fit.
package enum TrainingTime {
  /// Default MFU: 0.4, typical of well-tuned large-scale training (an assumption;
  /// pass the measured value with `--mfu`).
  package static let defaultMFU = TrainingRequest.defaultMFU

  /// One answer.
  package struct Estimate: Hashable, Sendable, Codable {
    /// The model’s name.
    package var model: String
    /// All parameters.
    package var parameters: Int64
    /// Parameters one token uses (k of E experts for MoE).
    package var activeParameters: Int64
    /// Training tokens asked for.
    package var tokens: Int64
    /// Data-parallel GPUs of the plan.
    package var gpus: Int
    /// The first GPU’s name.
    package var gpuName: String
    /// Model-FLOPs utilisation assumed.
    package var mfu: Double
    /// FLOPs per active parameter per token of the setup (6, or 8 with checkpointing).
    package var flopsPerParameterPerToken: Int
    /// F · N_active · D.
    package var totalFLOPs: Double
    /// Tokens per second over all GPUs.
    package var tokensPerSecond: Double
    /// Seconds to train on `tokens`.
    package var seconds: Double
    /// Tokens per sequence trained on: the asked length, at most the model's limit.
    package var sequence: Int = 0
    /// Tokens in one optimizer step: micro-batch 1 × sequence × data-parallel GPUs
    /// (no gradient accumulation).
    package var tokensPerStep: Int64
    /// Seconds per optimizer step at that rate.
    package var stepSeconds: Double
    /// The setup assumed: ZeRO stage, checkpointing, micro-batch, sequence length.
    package var setup: String
    /// The fullest GPU's memory under the setup.
    package var perGPUBytes: Int64
    /// The first GPU’s memory, bytes.
    package var gpuMemoryBytes: Int64
    /// Whether the setup fits the GPUs.
    package var fits: Bool

    /// JSON names: the card's memory is `memoryBytes`, as in every other output.
    enum CodingKeys: String, CodingKey {
      case model, parameters, activeParameters, tokens, gpus, gpuName, mfu, flopsPerParameterPerToken, totalFLOPs
      case tokensPerSecond, seconds, sequence, tokensPerStep, stepSeconds, setup, perGPUBytes, fits
      case gpuMemoryBytes = "memoryBytes"
    }
  }

  /// Estimates training `model` on `tokens` tokens over the GPUs of `graph` (data
  /// parallel over all of them), with the training plan of the planner.
  /// - Throws: ``InputError`` when a GPU cannot be priced (see ``Planner``).
  package static func estimate(
    model: ModelSpec,
    tokens: Int64,
    graph: DeviceGraph,
    mfu: Double = defaultMFU,
    sequence: Int = 2048
  ) throws -> Estimate {
    let context = min(sequence, model.maxContext)
    let plan = try Planner(graph: graph).planTraining(
      TrainingRequest(
        model: model,
        setup: Workload.Training(method: .full, optimizer: .adamw),
        sequence: context,
        mfu: mfu
      )
    )
    let workload = plan.workloads.first
    let training = workload?.training
    let gpus = workload?.dataParallel ?? 0
    let factor = training?.flopsPerParameterPerToken ?? 6
    let rate = training?.tokensPerSecond ?? 0
    let used = plan.devices.filter { $0.usedBytes > 0 }
    return Estimate(
      model: model.name,
      parameters: model.parameters,
      activeParameters: model.activeParameters,
      tokens: tokens,
      gpus: gpus,
      gpuName: graph.gpus.first?.name ?? "?",
      mfu: mfu,
      flopsPerParameterPerToken: factor,
      totalFLOPs: Double(factor) * Double(model.activeParameters) * Double(tokens),
      tokensPerSecond: rate,
      seconds: rate > 0 ? Double(tokens) / rate : .infinity,
      sequence: context,
      tokensPerStep: Int64(context * gpus),
      stepSeconds: training?.stepSeconds ?? 0,
      setup: (workload.map { "\($0.layoutSummary), " } ?? "") + "micro-batch 1 × \(context) tokens",
      perGPUBytes: used.map(\.usedBytes).max() ?? 0,
      gpuMemoryBytes: graph.gpus.first?.memoryBytes ?? 0,
      fits: plan.verdict != .doesNotFit
    )
  }

  /// GPT-3 paper shapes (Brown et al. 2020, Table 2.1) for the size table:
  /// (name, layers, hidden, heads), with a 4×hidden MLP and GPT-2's 50257-token vocabulary.
  package static let referenceSizes: [(String, Int, Int, Int)] = [
    ("125M", 12, 768, 12), ("355M", 24, 1024, 16), ("1.3B", 24, 2048, 16), ("2.7B", 32, 2560, 32),
    ("6.7B", 32, 4096, 32),
  ]

  /// A GPT-style model of a reference size, as a ModelSpec.
  package static func referenceModel(layers: Int, hidden: Int, heads: Int, name: String) throws -> ModelSpec {
    let json = """
      {"model_type":"gpt2","n_layer":\(layers),"n_embd":\(hidden),"n_head":\(heads),"vocab_size":50257,"n_positions":2048,"torch_dtype":"bfloat16"}
      """
    var spec = try HFConfigReader.read(Data(json.utf8), name: name, source: "GPT-3 shape \(name)")
    // The causal-mask buffers of the original GPT-2 checkpoint are not part of a training run.
    spec.tensors.removeAll { $0.role == .buffer }
    return spec
  }
}
