import Foundation

/// Time to train a model on a set of GPUs: 6 · N · D FLOPs (N active parameters,
/// D tokens; Kaplan et al. 2020, "Transformer Math 101") at a model-FLOPs
/// utilisation (MFU) of the GPUs' dense bf16 peak, with the memory of the training
/// setup this assumes checked per GPU.
public enum TrainingTime {
  /// Default MFU: 0.4, typical of well-tuned large-scale training (an assumption;
  /// pass the measured value with `--mfu`).
  public static let defaultMFU = 0.4

  /// One answer.
  public struct Estimate: Hashable, Sendable, Codable {
    public var model: String
    public var parameters: Int64
    public var activeParameters: Int64
    public var tokens: Int64
    public var gpus: Int
    public var gpuName: String
    public var mfu: Double
    /// 6 · N_active · D.
    public var totalFLOPs: Double
    public var tokensPerSecond: Double
    public var seconds: Double
    /// Tokens in one optimizer step: micro-batch 1 × sequence × data-parallel GPUs
    /// (no gradient accumulation).
    public var tokensPerStep: Int64
    /// Seconds per optimizer step at that rate.
    public var stepSeconds: Double
    /// The setup assumed: ZeRO stage, checkpointing, micro-batch, sequence length.
    public var setup: String
    public var perGPUBytes: Int64
    public var gpuMemoryBytes: Int64
    public var fits: Bool
  }

  /// Estimates training `model` on `tokens` tokens over the GPUs of `graph`
  /// (data parallel over all of them), choosing the lightest setup that fits:
  /// ZeRO 0 to 3, then gradient checkpointing, then CPU offload.
  public static func estimate(
    model: ModelSpec,
    tokens: Int64,
    graph: DeviceGraph,
    mfu: Double = defaultMFU,
    sequence: Int = 2048
  )
    -> Estimate
  {
    let gpus = max(graph.gpus.count, 1)
    let gpu = graph.gpus.first
    let peak = (gpu?.bf16TFLOPS ?? 100) * 1e12
    let memory = gpu?.memoryBytes ?? 0
    let context = min(sequence, model.maxContext)
    var chosen: (String, MemoryEstimate)?
    var last: (String, MemoryEstimate)?
    search: for checkpointing in [false, true] {
      for zero in 0...3 {
        for offload in [Workload.Training.Offload.none, .cpu] where offload == .none || zero >= 2 {
          if gpus == 1 && zero > 0 && offload == .none { continue }
          let training = Workload.Training(
            method: .full,
            optimizer: .adamw,
            zeroStage: zero,
            offload: offload,
            gradientCheckpointing: checkpointing
          )
          let result = MemoryModel.estimate(
            model: model,
            workload: Workload(mode: .training(training), context: context, batch: 1, gpus: gpus),
            weightFormat: "bf16"
          )
          let label =
            "full training, AdamW, ZeRO-\(zero)\(offload == .cpu ? " with CPU offload" : ""), \(checkpointing ? "gradient checkpointing, " : "")micro-batch 1 × \(context) tokens, data parallel over \(gpus) GPU(s)"
          last = (label, result)
          if result.perGPUBytes <= memory {
            chosen = (label, result)
            break search
          }
        }
      }
    }
    let (setup, memoryEstimate) =
      chosen ?? last ?? (
        "", MemoryModel.estimate(model: model, workload: Workload(context: context), weightFormat: "bf16")
      )
    let flops = 6 * Double(model.activeParameters) * Double(tokens)
    let rate = Double(gpus) * peak * mfu / (6 * Double(max(model.activeParameters, 1)))
    return Estimate(
      model: model.name,
      parameters: model.parameters,
      activeParameters: model.activeParameters,
      tokens: tokens,
      gpus: gpus,
      gpuName: gpu?.name ?? "?",
      mfu: mfu,
      totalFLOPs: flops,
      tokensPerSecond: rate,
      seconds: Double(tokens) / rate,
      tokensPerStep: Int64(context * gpus),
      stepSeconds: Double(context * gpus) / rate,
      setup: setup,
      perGPUBytes: memoryEstimate.perGPUBytes,
      gpuMemoryBytes: memory,
      fits: chosen != nil
    )
  }

  /// GPT-3 paper shapes (Brown et al. 2020, Table 2.1) for the size table:
  /// (name, layers, hidden, heads), with a 4×hidden MLP and GPT-2's 50257-token vocabulary.
  public static let referenceSizes: [(String, Int, Int, Int)] = [
    ("125M", 12, 768, 12), ("355M", 24, 1024, 16), ("1.3B", 24, 2048, 16), ("2.7B", 32, 2560, 32),
    ("6.7B", 32, 4096, 32),
  ]

  /// A GPT-style model of a reference size, as a ModelSpec.
  public static func referenceModel(layers: Int, hidden: Int, heads: Int, name: String) throws -> ModelSpec {
    let json = """
      {"model_type":"gpt2","n_layer":\(layers),"n_embd":\(hidden),"n_head":\(heads),"vocab_size":50257,"n_positions":2048,"torch_dtype":"bfloat16"}
      """
    var spec = try HFConfigReader.read(Data(json.utf8), name: name, source: "GPT-3 shape \(name)")
    // The causal-mask buffers of the original GPT-2 checkpoint are not part of a training run.
    spec.tensors.removeAll { $0.role == .buffer }
    return spec
  }
}
