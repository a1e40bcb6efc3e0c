/// What a model is asked to do, for the memory model.
public struct Workload: Hashable, Sendable {
  /// Inference or training.
  package enum Mode: Hashable, Sendable {
    case inference
    case training(Training)
  }

  /// A training setup.
  public struct Training: Hashable, Sendable {
    /// What trains: every weight, LoRA adapters, or LoRA over an NF4 base (QLoRA).
    public enum Method: String, Hashable, Sendable, CaseIterable, Codable { case full, lora, qlora }
    /// The optimizer, which sets the bytes of state per trainable parameter.
    public enum Optimizer: String, Hashable, Sendable, CaseIterable, Codable {
      case adamw
      case adamw8bit = "adamw-8bit"
      case sgd
    }
    /// Where ZeRO offloads states: nowhere, CPU RAM or NVMe.
    public enum Offload: String, Hashable, Sendable, CaseIterable, Codable { case none, cpu, nvme }

    /// What trains.
    package var method: Method
    /// The optimizer.
    package var optimizer: Optimizer
    /// DeepSpeed ZeRO stage 0–3.
    package var zeroStage: Int
    /// Where ZeRO offloads optimizer states (and parameters at stage 3).
    package var offload: Offload
    /// Gradient (activation) checkpointing.
    package var gradientCheckpointing: Bool
    /// Flash attention (no stored attention-score matrix).
    package var flashAttention: Bool
    /// LoRA rank.
    package var loraRank: Int
    /// LoRA target module names (`q_proj`, `v_proj` …); empty for all linears.
    package var loraTargets: [String]

    /// A training setup; the defaults are full training with AdamW and no ZeRO.
    public init(
      method: Method = .full,
      optimizer: Optimizer = .adamw,
      zeroStage: Int = 0,
      offload: Offload = .none,
      gradientCheckpointing: Bool = false,
      flashAttention: Bool = true,
      loraRank: Int = 16,
      loraTargets: [String] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    ) {
      self.method = method
      self.optimizer = optimizer
      self.zeroStage = zeroStage
      self.offload = offload
      self.gradientCheckpointing = gradientCheckpointing
      self.flashAttention = flashAttention
      self.loraRank = loraRank
      self.loraTargets = loraTargets
    }
  }

  /// Inference or training.
  package var mode: Mode
  /// Tokens per sequence.
  package var context: Int
  /// Sequences at once (inference) or micro-batch size (training).
  package var batch: Int
  /// KV cache element type.
  package var kvCache: KVCacheType
  /// Engine whose allocation rules apply (inference).
  package var engine: Engine
  /// GPUs: the tensor-parallel degree for inference, the data-parallel size
  /// for training (ZeRO shards over it).
  package var gpus: Int
  /// Nodes the `gpus` are spread over, evenly (training: offloaded states are
  /// split over the nodes' RAM).
  package var nodes: Int

  /// A workload; the defaults are one sequence of inference on one GPU with vLLM.
  package init(
    mode: Mode = .inference,
    context: Int,
    batch: Int = 1,
    kvCache: KVCacheType = .bf16,
    engine: Engine = .vllm,
    gpus: Int = 1,
    nodes: Int = 1
  ) {
    self.mode = mode
    self.context = context
    self.batch = batch
    self.kvCache = kvCache
    self.engine = engine
    self.gpus = gpus
    self.nodes = nodes
  }
}

/// Memory of a model under a workload, per GPU and in total, each component a
/// separate number in bytes. `counts` and `leavesOut` say what is in and out.
package struct MemoryEstimate: Hashable, Sendable, Codable {
  /// The model’s name.
  package var model: String
  /// The model’s family (`model_type`).
  package var family: String
  /// The weights’ label (`bf16`, `Q4_K_M`, `fp8 (as stored)`).
  package var weightFormat: String
  /// All parameters.
  package var parameters: Int64
  /// Parameters one token uses.
  package var activeParameters: Int64
  /// Bytes of all stored weights (the whole model, all GPUs together).
  package var weightBytes: Int64
  /// The largest unit placed whole on one device, bytes.
  package var largestLayerBytes: Int64
  /// Decoder layers.
  package var layers: Int
  /// KV cache bytes one token adds, over all layers, whole model.
  package var kvBytesPerToken: Int64
  /// KV cache for the context and batch, whole model (recurrent state not included).
  package var kvCacheBytes: Int64
  /// Recurrent state one sequence holds, whole model (Mamba, Gated DeltaNet
  /// layers; 0 for models without them): fixed, whatever the context length.
  package var stateBytesPerSequence: Int64 = 0
  /// Recurrent state of the batch, whole model.
  package var stateBytes: Int64 = 0
  /// Activations / compute buffers, per GPU.
  package var activationBytes: Int64
  /// Runtime overheads (CUDA context, NCCL, CUDA graphs), per GPU.
  package var overheadBytes: Int64
  /// Gradients (training), whole model before ZeRO sharding.
  package var gradientBytes: Int64?
  /// Optimizer states (training), whole model before ZeRO sharding.
  package var optimizerBytes: Int64?
  /// Trainable parameters (training).
  package var trainableParameters: Int64?
  /// Weights one GPU holds (tensor-parallel share, or the ZeRO-3 shard plus the
  /// largest layer gathered).
  package var weightBytesPerGPU: Int64 = 0
  /// Gradients one GPU holds after ZeRO sharding (training).
  package var gradientBytesPerGPU: Int64 = 0
  /// Optimizer states one GPU holds after ZeRO sharding and offload (training).
  package var optimizerBytesPerGPU: Int64 = 0
  /// Per GPU: what one GPU holds.
  package var perGPUBytes: Int64
  /// In total over all GPUs.
  package var totalBytes: Int64
  /// Bytes that live in CPU RAM (ZeRO offload), in total.
  package var cpuBytes: Int64
  /// GPUs the estimate is for.
  package var gpus: Int
  /// Tokens per sequence.
  package var context: Int
  /// Sequences at once, or the training micro-batch.
  package var batch: Int
  /// The engine whose rules apply.
  package var engine: String
  /// The KV cache type.
  package var kvCacheType: String
  /// FLOPs per token for a forward pass: 2 × the active parameters that take
  /// part in matrix products (the input embedding is a lookup, not counted unless
  /// tied to the output head).
  package var flopsPerToken: Int64
  /// Bytes read per decode step at batch 1: weights touched by one token (all
  /// dense weights, k of E experts) plus the KV cache of the context.
  package var decodeBytesPerToken: Int64
  /// What the estimate counts, one line each.
  package var counts: [String]
  /// What it leaves out, one line each.
  package var leavesOut: [String]
  /// How the model was read and where the engine’s constants come from.
  package var notes: [String]
  /// DeepSpeed's own estimator's GPU figure for this setup, as a cross-check
  /// (training, ZeRO 1–3): model states only, per GPU.
  package var deepSpeedEstimatePerGPUBytes: Int64?
  /// DeepSpeed's own estimator's CPU RAM figure, per node, with its 1.5× buffer factor.
  package var deepSpeedEstimateCPUBytes: Int64? = nil
}

/// DeepSpeed's model-state memory estimator as DeepSpeed 0.19.8 computes it
/// (`estimate_zero2_model_states_mem_needs` in runtime/zero/stage_1_and_2.py, which
/// also serves stage 1, and `estimate_zero3_model_states_mem_needs` in stage3.py,
/// with `zero_init=True` and the default `additional_buffer_factor=1.5`), ported
/// operation for operation so the figures agree to the byte; Scripts/check-emitters.sh
/// runs DeepSpeed's own functions on the same models to check that.
package enum DeepSpeedEstimator {
  /// The buffer factor DeepSpeed applies to CPU RAM.
  package static let bufferFactor = 1.5

  /// Stage 1 or 2: (CPU RAM per node, GPU per GPU), bytes.
  package static func zero2(
    totalParameters p: Int64,
    gpusPerNode: Int,
    nodes: Int,
    cpuOffload: Bool
  ) -> (
    cpu: Int64, gpu: Int64
  ) {
    let totalGPUs = Int64(gpusPerNode * nodes)
    if cpuOffload {
      return (Int64(Double(p * max(4 * totalGPUs, 16)) * bufferFactor), 2 * p)
    }
    return (Int64(Double(p * 4 * Int64(gpusPerNode)) * bufferFactor), 2 * p + Int64(Double(18 * p) / Double(totalGPUs)))
  }

  /// Stage 3 with `zero_init=True`; offload moves parameters and optimizer states
  /// (shardplan's ZeRO-3 offload does both): (CPU RAM per node, GPU per GPU), bytes.
  /// `largestLayer` is the parameters of the largest module, its own only.
  package static func zero3(
    totalParameters p: Int64,
    largestLayer: Int64,
    gpusPerNode: Int,
    nodes: Int,
    cpuOffload: Bool
  ) -> (cpu: Int64, gpu: Int64) {
    let totalGPUs = Int64(gpusPerNode * nodes)
    let gpusFactor = 1 / Double(nodes)
    let largestMemory = 4 * largestLayer
    if cpuOffload {
      return (Int64(Double(p * 18) * gpusFactor * bufferFactor), largestMemory)
    }
    return (
      Int64(Double(largestLayer * 4 * Int64(gpusPerNode)) * bufferFactor),
      largestMemory + Int64(Double(18 * p) / Double(totalGPUs))
    )
  }
}

/// The memory model.
package enum MemoryModel {
  /// Estimates memory for `model` (already converted to the weight format wanted).
  ///
  /// Inference, per GPU with tensor parallelism t over `gpus`: weights / t
  /// (replicated embeddings and norms are not separated out), KV cache per rank
  /// (``KVCacheModel``), the engine's activations (``EngineProfile``), and
  /// overheads (runtime + CUDA graphs + NCCL for t > 1).
  ///
  /// Training, with D data-parallel GPUs and ZeRO stage z (Rajbhandari et al.;
  /// EleutherAI "Transformer Math 101" byte counts): mixed-precision AdamW keeps
  /// 2 bytes of bf16 weights, 2 of gradients and 12 of fp32 master weights, momentum
  /// and variance per trainable parameter; 8-bit Adam 6 instead of 12; SGD with
  /// momentum 8. ZeRO-1 divides optimizer states by D, ZeRO-2 also gradients,
  /// ZeRO-3 also weights; CPU offload moves optimizer states (and at stage 3
  /// weights) to RAM. LoRA trains only adapters (rank r: r × (in + out) per target
  /// linear) over a frozen bf16 base; QLoRA over an NF4 base. Activations per layer
  /// follow Korthikanti et al. (2022): s·b·h·(34 + 5·a·s/h) bytes, 34·s·b·h with
  /// flash attention, 2·s·b·h with full checkpointing plus one layer recomputed,
  /// and fp32 logits for the loss.
  package static func estimate(
    model asked: ModelSpec,
    workload: Workload,
    weights planned: PlannedWeights
  ) -> MemoryEstimate {
    // The cache as the engine allocates it (llama.cpp drops some families' windows).
    var runNote: String?
    var model = asked
    if case .inference = workload.mode { (model, runNote) = asked.asRun(by: workload.engine) }
    let gpus = max(workload.gpus, 1)
    let kvModel = KVCacheModel(attention: model.attention, type: workload.kvCache)
    // An architecture shardplan does not know has no KV formula: its cache is
    // left out (and said so) rather than guessed, until one is given.
    let kvKnown = model.kvCacheIsKnown
    let kvPerToken = kvKnown ? kvModel.bytesPerToken(tensorParallel: 1) : 0
    var counts: [String] = []
    var leaves: [String] = []
    var notes = model.notes + (runNote.map { [$0] } ?? [])
    let weights = model.weightBytes
    let active = model.activeParameters
    // Bytes read per decode token: dense weights plus k/E of the routed experts.
    let expertBytes = model.tensors.filter { $0.role == .expert }.reduce(0) { $0 + $1.bytes }
    let mtpBytes = model.tensors.filter { $0.role == .multiTokenPrediction }.reduce(0) { $0 + $1.bytes }
    var touched = weights - mtpBytes
    if let moe = model.moe, moe.routedExperts > 0 {
      touched = weights - mtpBytes - expertBytes + expertBytes * Int64(moe.expertsPerToken) / Int64(moe.routedExperts)
    }
    let kvContext = kvKnown ? kvModel.bytes(context: workload.context, sequences: 1) : 0
    let lookup =
      model.tiedEmbeddings ? 0 : model.tensors.filter { $0.role == .embedding }.reduce(0) { $0 + $1.parameters }
    var estimate = MemoryEstimate(
      model: model.name,
      family: model.family,
      weightFormat: planned.label,
      parameters: model.parameters,
      activeParameters: active,
      weightBytes: weights,
      largestLayerBytes: model.largestLayerBytes,
      layers: model.layers,
      kvBytesPerToken: kvPerToken,
      kvCacheBytes: 0,
      activationBytes: 0,
      overheadBytes: 0,
      gradientBytes: nil,
      optimizerBytes: nil,
      trainableParameters: nil,
      perGPUBytes: 0,
      totalBytes: 0,
      cpuBytes: 0,
      gpus: gpus,
      context: workload.context,
      batch: workload.batch,
      engine: workload.engine.rawValue,
      kvCacheType: workload.kvCache.rawValue,
      flopsPerToken: 2 * (active - lookup),
      decodeBytesPerToken: touched + kvContext,
      counts: [],
      leavesOut: [],
      notes: [],
      deepSpeedEstimatePerGPUBytes: nil
    )

    switch workload.mode {
    case .inference:
      let profile = EngineProfile.profile(workload.engine)
      let kvPerRank =
        !kvKnown
        ? 0
        : kvModel.bytes(
          context: workload.context,
          sequences: workload.batch,
          tensorParallel: gpus,
          blockSize: profile.kvBlockSize
        )
      let statePerRank = kvKnown ? kvModel.stateBytesPerSequence(tensorParallel: gpus) * Int64(workload.batch) : 0
      estimate.kvCacheBytes = (kvPerRank - statePerRank) * Int64(gpus)
      estimate.stateBytes = statePerRank * Int64(gpus)
      estimate.stateBytesPerSequence = kvKnown ? kvModel.stateBytesPerSequence() : 0
      estimate.activationBytes = profile.activationBytes(
        model: model,
        context: workload.context,
        batch: workload.batch,
        tensorParallel: gpus
      )
      estimate.overheadBytes =
        profile.runtimeBytes + profile.cudaGraphBytes + EngineProfile.ncclBytes(groupSize: gpus)
      // llama.cpp keeps the token embedding in host memory (a tied head gets a copy on the GPU).
      let onHost =
        profile.keepsInputEmbeddingOnHost
        ? model.tensors.filter { $0.role == .embedding || $0.role == .positionEmbedding }.reduce(0) { $0 + $1.bytes }
        : 0
      let gpuWeights = weights - onHost + (model.tiedEmbeddings ? onHost : 0)
      estimate.cpuBytes = onHost
      let weightsPerGPU = (gpuWeights + Int64(gpus) - 1) / Int64(gpus)
      estimate.weightBytesPerGPU = weightsPerGPU
      estimate.perGPUBytes = weightsPerGPU + kvPerRank + estimate.activationBytes + estimate.overheadBytes
      estimate.totalBytes = estimate.perGPUBytes * Int64(gpus)
      counts = [
        "weights: every stored tensor, exact bytes (\(model.tensorSource))",
        "KV cache: \(workload.batch) sequence(s) × \(workload.context) tokens, \(workload.kvCache.rawValue), per layer type (sliding windows capped, MLA latent)"
          + (profile.kvBlockSize > 1 ? ", rounded to blocks of \(profile.kvBlockSize) tokens" : ""),
      ]
      if estimate.stateBytesPerSequence > 0 {
        counts.append(
          "recurrent state: \(model.attention.layers.filter { $0.stateBytes > 0 }.count) recurrent layer(s), a fixed state per sequence (convolution and recurrent state), not per token"
        )
      }
      counts += [
        "activations: \(workload.engine.rawValue)'s peak for one forward pass (see sources)",
        "overheads: CUDA context and workspaces, CUDA graphs, NCCL buffers for \(gpus) GPU(s)",
      ]
      if gpus > 1 {
        counts.append(
          "tensor parallelism over \(gpus) GPUs: weights split evenly, KV heads per rank max(1, kv_heads / \(gpus))"
        )
      }
      leaves = [
        "fragmentation of the caching allocator",
        "memory other processes already use on the GPU",
        "speculative-decoding drafts, LoRA adapters and multimodal encoders",
      ]
      if !kvKnown, let architecture = model.unknownArchitecture {
        leaves.insert(
          "the KV cache: '\(architecture)' is not an architecture shardplan knows (give it with --kv-bytes-per-token)",
          at: 0
        )
      }
      if let fraction = profile.memoryFraction {
        notes.append(
          "\(workload.engine.rawValue) takes \(Int(fraction * 100))% of each card at start-up and fills what it does not need with KV cache"
        )
      }
      notes.append(contentsOf: profile.sources)
    case .training(let training):
      estimateTraining(
        model: model,
        workload: workload,
        training: training,
        into: &estimate,
        counts: &counts,
        leaves: &leaves
      )
    }
    estimate.counts = counts
    estimate.leavesOut = leaves
    estimate.notes = notes
    return estimate
  }

  private static func estimateTraining(
    model: ModelSpec,
    workload: Workload,
    training: Workload.Training,
    into estimate: inout MemoryEstimate,
    counts: inout [String],
    leaves: inout [String]
  ) {
    let gpus = Int64(max(workload.gpus, 1))
    let parameters = model.parameters
    // Trainable parameters.
    var trainable = parameters
    var baseBytes: Int64
    switch training.method {
    case .full:
      baseBytes = parameters * 2  // bf16 working weights
    case .lora, .qlora:
      var adapters: Int64 = 0
      for tensor in model.tensors where tensor.shape.count == 2 && tensor.layer != nil && tensor.parameters > 0 {
        let module = tensor.name.split(separator: ".").dropLast().last.map(String.init) ?? ""
        guard training.loraTargets.isEmpty || training.loraTargets.contains(module) else { continue }
        guard [.attention, .mlp, .expert, .sharedExpert].contains(tensor.role) else { continue }
        adapters += Int64(training.loraRank) * (tensor.shape[0] + tensor.shape[1])
      }
      trainable = adapters
      baseBytes =
        training.method == .qlora
        ? model.converted(to: .nf4).weightBytes : model.converted(to: .float(.bf16)).weightBytes
      baseBytes += adapters * 4  // fp32 adapter weights
    }
    let optimizerPerParameter: Int64 =
      switch training.optimizer {
      case .adamw: 12
      case .adamw8bit: 6
      case .sgd: 8
      }
    let gradients = trainable * (training.method == .full ? 2 : 4)
    let optimizer = trainable * optimizerPerParameter
    estimate.trainableParameters = trainable
    estimate.gradientBytes = gradients
    estimate.optimizerBytes = optimizer
    // ZeRO sharding over data-parallel GPUs.
    let zero = training.zeroStage
    var weightsPerGPU = baseBytes
    var gradientsPerGPU = gradients
    var optimizerPerGPU = optimizer
    var cpu: Int64 = 0
    if zero >= 1 { optimizerPerGPU = (optimizer + gpus - 1) / gpus }
    if zero >= 2 { gradientsPerGPU = (gradients + gpus - 1) / gpus }
    if zero >= 3 { weightsPerGPU = (baseBytes + gpus - 1) / gpus + model.largestLayerBytes }
    if training.offload != .none && zero >= 1 {
      // The host keeps what ZeRO-Offload steps on the CPU: the optimizer states
      // (fp32 master weights included) and an fp32 copy of the gradients, which
      // DeepSpeed copies out of the GPU for its CPU Adam; at ZeRO-3 the parameters too.
      cpu += optimizer + trainable * 4
      optimizerPerGPU = 0
      if zero >= 3 {
        cpu += baseBytes
        weightsPerGPU = model.largestLayerBytes * 2
      }
    }
    // Activations (Korthikanti et al. 2022), bf16, per micro-batch.
    let s = Int64(workload.context)
    let b = Int64(max(workload.batch, 1))
    let h = Int64(model.hiddenSize)
    let a = Int64(max(model.attention.heads, 1))
    let layers = Int64(model.layers)
    let perLayerFull = s * b * h * 34 + (training.flashAttention ? 0 : 5 * a * s * s * b)
    let activations =
      training.gradientCheckpointing
      ? 2 * s * b * h * layers + perLayerFull
      : perLayerFull * layers
    let logits = s * b * Int64(model.vocabularySize) * 6  // bf16 logits + fp32 copy for the loss
    estimate.activationBytes = activations + logits
    let profile = EngineProfile.profile(.transformers)
    estimate.overheadBytes = profile.runtimeBytes + EngineProfile.ncclBytes(groupSize: Int(gpus))
    estimate.weightBytesPerGPU = weightsPerGPU
    estimate.gradientBytesPerGPU = gradientsPerGPU
    estimate.optimizerBytesPerGPU = optimizerPerGPU
    estimate.perGPUBytes =
      weightsPerGPU + gradientsPerGPU + optimizerPerGPU + estimate.activationBytes + estimate.overheadBytes
    estimate.totalBytes = estimate.perGPUBytes * gpus
    estimate.cpuBytes = cpu
    estimate.kvCacheBytes = 0
    // DeepSpeed's estimator, model states only, for comparison: it counts every
    // parameter as trained (full fine-tuning) whatever the method.
    let nodes = max(workload.nodes, 1)
    let perNode = max(Int(gpus) / nodes, 1)
    let offloaded = training.offload != .none
    switch zero {
    case 3:
      let figure = DeepSpeedEstimator.zero3(
        totalParameters: parameters,
        largestLayer: model.largestModuleParameters,
        gpusPerNode: perNode,
        nodes: nodes,
        cpuOffload: offloaded
      )
      estimate.deepSpeedEstimatePerGPUBytes = figure.gpu
      estimate.deepSpeedEstimateCPUBytes = figure.cpu
    case 1, 2:
      let figure = DeepSpeedEstimator.zero2(
        totalParameters: parameters,
        gpusPerNode: perNode,
        nodes: nodes,
        cpuOffload: offloaded
      )
      estimate.deepSpeedEstimatePerGPUBytes = figure.gpu
      estimate.deepSpeedEstimateCPUBytes = figure.cpu
    default:
      estimate.deepSpeedEstimatePerGPUBytes = nil
    }
    counts += [
      "weights: \(training.method == .qlora ? "NF4 base with double quantization" : "bf16 working copy")\(training.method == .full ? "" : " (frozen) plus fp32 LoRA adapters of rank \(training.loraRank) on \(training.loraTargets.joined(separator: ", "))")",
      "gradients: \(training.method == .full ? "bf16, 2" : "fp32, 4") bytes per trainable parameter",
      "optimizer: \(training.optimizer.rawValue), \(optimizerPerParameter) bytes per trainable parameter (fp32 master weights included)",
      "ZeRO-\(zero) over \(gpus) GPU(s)\(training.offload != .none ? ", offload to \(training.offload.rawValue): optimizer states and fp32 gradients\(zero >= 3 ? " and the parameters" : "") kept there" : "")",
      "activations: Korthikanti et al. for micro-batch \(b) × \(s) tokens\(training.flashAttention ? ", flash attention" : "")\(training.gradientCheckpointing ? ", full checkpointing" : ""), plus logits for the loss",
    ]
    leaves += [
      "temporary buffers of the optimizer step and of collectives",
      "allocator fragmentation (often 5–15%)",
      "pipeline-parallel activation stashes",
    ]
  }
}
