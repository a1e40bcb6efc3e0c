/// The roofline cost model: time per step from bytes moved and FLOPs done.
///
/// Factors, each with its source:
/// - memory efficiency 0.8 of peak HBM bandwidth: aiconfigurator's
///   `mem_bw_empirical_scaling_factor` (shared/reference/gpus/*.yaml);
/// - a constant 3 µs per kernel-bound memory phase: aiconfigurator's
///   `mem_empirical_constant_latency`, charged once per layer;
/// - 10 µs per collective or pipeline hand-off: aiconfigurator's `p2p_latency`;
/// - compute efficiency 0.6 of dense peak for prefill GEMMs: an assumption
///   (large prefill GEMMs typically reach 50–70% of peak), stated in every report;
/// - CPU RAM read at 0.7 of its nominal bandwidth for offloaded layers: an
///   assumption (STREAM-style sustained bandwidth of DDR4/DDR5 servers);
/// - hidden states handed between GPUs in 2-byte elements (bf16/fp16 activations);
/// - a host whose RAM bandwidth no source gives reads at 51.2 GB/s, dual-channel
///   DDR4-3200 (2 × 25.6 GB/s, JEDEC): the slowest common desktop, so that an
///   offload plan is not flattered; every plan that uses it says so.
///
/// A GPU whose HBM bandwidth or dense bf16 peak is unknown is not priced with a
/// made-up rate: ``Planner/init(graph:strategy:objective:tightFraction:)`` refuses it.
package enum CostModel {
  /// Fraction of peak HBM bandwidth that weight and cache reads reach.
  package static let memoryEfficiency = 0.8
  /// Fixed latency per decoder layer and step, seconds.
  package static let layerLatencySeconds = 3e-6
  /// Latency of one collective or pipeline hand-off, seconds.
  package static let collectiveLatencySeconds = 10e-6
  /// Fraction of dense peak that prefill GEMMs reach.
  package static let computeEfficiency = 0.6
  /// Fraction of nominal CPU RAM bandwidth that offloaded reads reach.
  package static let ramEfficiency = 0.7
  /// Bytes per element of the hidden states that GPUs exchange.
  package static let activationElementBytes: Int64 = 2
  /// CPU RAM bandwidth assumed for a host no source describes, bytes/s.
  package static let assumedRAMBandwidthBytesPerSecond: Int64 = 51_200_000_000

  /// Seconds to read `bytes` at `bandwidth` bytes/s with the memory efficiency.
  package static func readSeconds(bytes: Int64, bandwidth: Int64, efficiency: Double = memoryEfficiency) -> Double {
    guard bandwidth > 0 else { return .infinity }
    return Double(bytes) / (Double(bandwidth) * efficiency)
  }

  /// A ring all-reduce of `bytes` over `size` ranks joined at `linkBandwidth`
  /// bytes/s per direction: 2(n−1)/n × bytes on the slowest link, plus latency.
  package static func allReduceSeconds(bytes: Int64, size: Int, linkBandwidth: Int64) -> Double {
    guard size > 1 else { return 0 }
    guard linkBandwidth > 0 else { return .infinity }
    let traffic = 2 * Double(size - 1) / Double(size) * Double(bytes)
    return traffic / Double(linkBandwidth) + collectiveLatencySeconds
  }

  /// A point-to-point transfer (pipeline hand-off).
  package static func transferSeconds(bytes: Int64, linkBandwidth: Int64) -> Double {
    guard linkBandwidth > 0 else { return .infinity }
    return Double(bytes) / Double(linkBandwidth) + collectiveLatencySeconds
  }

  /// Seconds for `flops` on `tflops` dense peak with the compute efficiency.
  package static func computeSeconds(flops: Double, tflops: Double, efficiency: Double = computeEfficiency) -> Double {
    guard tflops > 0 else { return .infinity }
    return flops / (tflops * 1e12 * efficiency)
  }

  /// Seconds of the tensor-parallel all-reduces of `layers` layers for `tokens`
  /// tokens: two per layer (after attention and after the MLP, Megatron-LM), each
  /// of the tokens' hidden states.
  package static func tensorParallelSeconds(
    layers: Int,
    tokens: Int64,
    hiddenSize: Int,
    size: Int,
    linkBandwidth: Int64
  ) -> Double {
    Double(2 * layers)
      * allReduceSeconds(
        bytes: tokens * Int64(hiddenSize) * activationElementBytes,
        size: size,
        linkBandwidth: linkBandwidth
      )
  }

  /// Seconds to hand `tokens` tokens' hidden states to the next pipeline stage.
  package static func handoffSeconds(tokens: Int64, hiddenSize: Int, linkBandwidth: Int64) -> Double {
    transferSeconds(bytes: tokens * Int64(hiddenSize) * activationElementBytes, linkBandwidth: linkBandwidth)
  }

  /// Seconds one decode step spends in a stage: reading its `bytes` (weights and
  /// cache) from HBM, a fixed latency per layer (and the engine's kernel
  /// launches where it replays no CUDA graphs, `launchSecondsPerLayer`), and its
  /// collectives.
  package static func decodeStageSeconds(
    bytes: Int64,
    bandwidth: Int64,
    layers: Int,
    communicationSeconds: Double,
    efficiency: Double = memoryEfficiency,
    launchSecondsPerLayer: Double = 0
  ) -> Double {
    readSeconds(bytes: bytes, bandwidth: bandwidth, efficiency: efficiency)
      + Double(layers) * (layerLatencySeconds + launchSecondsPerLayer) + communicationSeconds
  }

  /// FLOPs of the prefill of one prompt of `tokens` tokens over `layers` of the
  /// model's `modelLayers` layers: 2 per active matrix parameter per token for the
  /// layers' share, plus causal attention (scores and values: 2 × 2 × tokens/2 ×
  /// width per layer per token, width = heads × head dimension).
  package static func prefillFLOPs(
    tokens: Int,
    flopsPerToken: Int64,
    layers: Int,
    modelLayers: Int,
    attentionWidth: Int64
  ) -> Double {
    let share = Double(layers) / Double(max(modelLayers, 1))
    let count = Double(tokens)
    return count * (Double(flopsPerToken) * share + 2 * count * Double(attentionWidth) * Double(layers))
  }

  /// The prediction of a layout from the seconds of one decode step (every
  /// sequence advancing one token) and of the prefill of one prompt.
  /// - Parameters:
  ///   - sequencesPerStep: sequences one copy of the model advances per decode step.
  ///   - copies: copies of the model decoding at once (data-parallel replicas or ranks).
  /// What one (engine, weight format) pair's kernels achieve in decode against the
  /// bytes model, where public measurements show they do not reach it.
  struct KernelSpeed: Hashable, Sendable {
    /// Decode rate of the format as a fraction of the same model's bf16 rate.
    var relativeToBF16: Double
    /// Where the figure comes from.
    var source: String
  }

  /// The measured decode speed of dequantizing kernels that are compute bound,
  /// relative to bf16, or nil where the bytes model holds (llama.cpp's GGUF
  /// kernels: Qwen3-32B Q4_0 on an A10 predicted 25.5 tokens/s against 23.2
  /// measured in llama.cpp issue 13652; Marlin's GPTQ/AWQ int4 kernels in vLLM
  /// and SGLang reach near their 3.9× over fp16 at small batch, Frantar et al.
  /// 2024) or where no measurement is known (said in the plan).
  static func kernelSpeed(engine: Engine, weights: PlannedWeights) -> KernelSpeed? {
    guard engine == .transformers, case .converted(let format) = weights else { return nil }
    switch format {
    case .nf4:
      return KernelSpeed(
        relativeToBF16: 0.6,
        source:
          "bitsandbytes NF4 under transformers decodes at about 0.5–0.75× bf16 (bitsandbytes issue 611: Mistral-7B 36.5 against 48.6 tokens/s; bitsandbytes issue 490; transformers issue 24502); priced at 0.6× bf16, not from its bytes (prefill is not adjusted)"
      )
    case .int8:
      return KernelSpeed(
        relativeToBF16: 0.2,
        source:
          "bitsandbytes LLM.int8 under transformers decodes at about 0.15–0.2× bf16 (bitsandbytes issue 181: 15% of fp16; issue 490: about 5× slower than bf16, its kernels being made for training); priced at 0.2× bf16, not from its bytes (prefill is not adjusted)"
      )
    default:
      return nil
    }
  }

  /// What llama.cpp's MoE kernels (`mul_mat_id`: each token's experts gathered
  /// and multiplied apart) reach against the bytes and FLOPs model, measured:
  /// Qwen3-30B-A3B Q4_0 on an A10 decodes 103.5 tokens/s and prefills 1328 (pp512)
  /// in llama.cpp issue 13652, where the model gives 193.4 and 9747; the dense
  /// control, Qwen3-32B Q4_0, decodes 23.2 against 24.2, so the shortfall is the
  /// MoE path's. One measurement: the engine-log loop (`reconcile`) is the way to
  /// refine it.
  static let llamaCppMoE = (decode: 103.5 / 193.4, prefill: 1328.0 / 9747.0)

  static func prediction(
    decodeSeconds: Double,
    prefillSeconds: Double,
    promptTokens: Int,
    sequencesInFlight: Int,
    slots: Int,
    copies: Int = 1,
    encoder: Bool = false,
    bound: String
  ) -> Prediction {
    if encoder {
      // No decode: each copy that has a sequence encodes a prompt per prefill time.
      let busy = min(max(sequencesInFlight, 1), max(copies, 1))
      let rate = prefillSeconds > 0 ? Double(promptTokens) / prefillSeconds : 0
      return Prediction(
        prefillTokensPerSecond: rate,
        decodeTokensPerSecond: 0,
        aggregateDecodeTokensPerSecond: 0,
        timeToFirstTokenSeconds: prefillSeconds,
        decodeBound: "no decode (an encoder)",
        encodeTokensPerSecond: rate * Double(busy)
      )
    }
    let perSequence = decodeSeconds > 0 ? 1 / decodeSeconds : 0
    // The whole deployment decodes min(sequences asked for, sequence slots) at
    // once, each at the per-sequence rate of its copy's batch: idle replicas add nothing.
    let decoding = min(max(sequencesInFlight, 1), max(slots, 1))
    return Prediction(
      prefillTokensPerSecond: prefillSeconds > 0 ? Double(promptTokens) / prefillSeconds : 0,
      decodeTokensPerSecond: perSequence,
      aggregateDecodeTokensPerSecond: perSequence * Double(decoding),
      timeToFirstTokenSeconds: prefillSeconds,
      decodeBound: bound
    )
  }

  /// FLOPs per active parameter per trained token: 6 for full training (forward 2,
  /// backward 4: Kaplan et al. 2020), 4 when only adapters train (no weight
  /// gradients of the frozen base), plus 2 with gradient checkpointing (a second
  /// forward pass).
  package static func trainingFLOPsPerParameter(method: Workload.Training.Method, checkpointing: Bool) -> Int {
    (method == .full ? 6 : 4) + (checkpointing ? 2 : 0)
  }

  /// Seconds of one synchronous data-parallel training step of `tokens` tokens over
  /// `gpus` GPUs of `tflops` dense bf16 peak at model-FLOPs utilisation `mfu`.
  package static func trainingStepSeconds(
    tokens: Double,
    flopsPerParameter: Int,
    activeParameters: Int64,
    gpus: Int,
    tflops: Double,
    mfu: Double
  ) -> Double {
    tokens * Double(flopsPerParameter) * Double(max(activeParameters, 1)) / (Double(max(gpus, 1)) * tflops * 1e12 * mfu)
  }
}
