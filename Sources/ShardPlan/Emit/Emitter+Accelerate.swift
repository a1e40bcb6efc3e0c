/// accelerate and transformers: `accelerate_config.yaml`, `device_map.json`, `max_memory.json`.
extension Emitter {
  // MARK: - device_map / max_memory

  /// `device_map.json` and `max_memory.json` for transformers' big-model
  /// inference. GPU numbers are as the process sees them: position in its
  /// `gpu_ids` (`CUDA_VISIBLE_DEVICES`), so one map serves every replica.
  func deviceMapFiles(_ workload: WorkloadPlan, suffix: String) throws -> [EmittedFile] {
    let spec = try model(workload)
    let placement = try modulePlacement(workload, spec)
    var map = "{\n"
    map += placement.map { "  \(Self.jsonString($0.module)): \($0.device.jsonValue)" }.joined(separator: ",\n")
    map += "\n}\n"
    // max_memory: what each visible GPU may hold in weights (the plan's weights
    // there plus this workload's part of the free memory), and CPU RAM for
    // offloaded modules.
    let unit = replicas(workload)[0]
    var memory: [(String, Int64)] = []
    for (position, gpu) in unit.enumerated() {
      let part = share(workload, gpu: gpu)
      let own = workload.gpuShares.first { $0.gpu == gpu }
      let weights = own?.weightBytes ?? 0
      memory.append(("\(position)", weights + (part.budget - part.used)))
    }
    let offloaded = placement.contains { $0.device == .cpu }
    if offloaded { memory.append(("cpu", plan.cpuBytes)) }
    var limits = "{\n"
    limits += memory.map { "  \(Self.jsonString($0.0)): \($0.1)" }.joined(separator: ",\n")
    limits += "\n}\n"
    return [
      EmittedFile(name: "device_map\(suffix).json", contents: map, executable: false),
      EmittedFile(name: "max_memory\(suffix).json", contents: limits, executable: false),
    ]
  }

  /// Where a module goes: a GPU as the process numbers it, or CPU RAM.
  enum Placement: Hashable {
    case gpu(Int)
    case cpu

    var jsonValue: String {
      switch self {
      case .gpu(let index): "\(index)"
      case .cpu: "\"cpu\""
      }
    }
  }

  /// Every top-level module of the model (the embedding, each decoder layer, the
  /// final norm, the rotary embedding, the head) with its device, in model order.
  func modulePlacement(_ workload: WorkloadPlan, _ spec: ModelSpec) throws -> [(module: String, device: Placement)] {
    let unit = replicas(workload)[0]
    var layerDevice: [Int: Placement] = [:]
    var offset = 0
    for stage in workload.stages {
      // A stage's layers sit on its first (only) GPU: transformers stages are one GPU wide.
      let position = offset
      offset += stage.devices.count
      for layer in stage.firstLayer...max(stage.firstLayer, stage.lastLayer) { layerDevice[layer] = .gpu(position) }
    }
    for layer in 0..<(workload.cpuLayers ?? 0) { layerDevice[layer] = .cpu }
    guard workload.tensorParallel == 1, !unit.isEmpty else {
      throw InputError(
        .inconsistent,
        source: "--emit device-map",
        message: "a device_map places whole modules; this plan splits tensors over \(workload.tensorParallel) GPUs",
        fix: "Plan with --engine transformers (pipeline splits only)"
      )
    }
    let first = Placement.gpu(0)
    let last = Placement.gpu(max(offset - 1, 0))
    var order: [String] = []
    var device: [String: Placement] = [:]
    func place(_ module: String, _ where_: Placement) {
      if device[module] == nil { order.append(module) }
      device[module] = where_
    }
    var embedding: String?
    var head: String?
    // Old checkpoints name tensors of the base model without its prefix
    // (GPT-2's `h.0.attn`); transformers' *ForCausalLM nests it (`transformer.h.0.attn`).
    let family = ModelFamily.of(spec)
    let prefix = family?.baseModelPrefix
    if let wrapper = spec.multimodalWrapper, !spec.tensors.contains(where: { $0.role == .vision }) {
      throw InputError(
        .inconsistent,
        source: "--emit device-map",
        message:
          "\(wrapper) is multimodal and shardplan does not read its vision tower, so a device_map cannot place it",
        fix: "Plan it with --engine vllm or sglang, or load its language model alone"
      )
    }
    for tensor in spec.tensors where tensor.role != .multiTokenPrediction {
      var name = tensor.name
      if let prefix, tensor.role != .head, !name.hasPrefix(prefix + ".") { name = prefix + "." + name }
      if spec.multimodalWrapper != nil { name = Self.multimodalModuleName(name, role: tensor.role) }
      let parts = name.split(separator: ".").map(String.init)
      if let layer = tensor.layer {
        guard layer < spec.layers, let at = parts.firstIndex(of: String(layer)), at > 0 else { continue }
        place(parts[...at].joined(separator: "."), layerDevice[layer] ?? first)
        continue
      }
      let module = parts.dropLast().joined(separator: ".")
      guard !module.isEmpty else { continue }
      // A vision tower and its projector go whole, with the embeddings
      // (`model.vision_tower`, `model.multi_modal_projector`, `model.visual`).
      if tensor.role == .vision {
        place(parts.prefix(2).joined(separator: "."), first)
        continue
      }
      switch tensor.role {
      case .embedding, .positionEmbedding:
        if tensor.role == .embedding { embedding = module }
        place(module, first)
      case .head:
        head = module
        place(module, last)
      case .norm:
        place(module, last)
      default:
        place(module, first)
      }
    }
    // Modules that hold only computed buffers (no stored tensor) still need a device.
    if let prefix = embedding.map({ $0.split(separator: ".").dropLast().joined(separator: ".") }), !prefix.isEmpty,
      family?.rotaryModule == true
    {
      place(prefix + ".rotary_emb", first)
    }
    // A head tied to the embedding shares its weight: it must sit on the embedding's device.
    if spec.tiedEmbeddings, let embedding {
      let module = head ?? (family == nil ? "lm_head" : family?.headModule)
      if let module { place(module, device[embedding] ?? first) }
    }
    return order.map { ($0, device[$0] ?? first) }
  }

  /// A tensor's name as transformers' multimodal `*ForConditionalGeneration`
  /// classes nest it (checked against transformers 5 in Scripts/check-emitters.sh):
  /// the language model under `model.language_model`, the vision tower and projector
  /// under `model`, the head at the top. Checkpoint names of either layout
  /// (`language_model.model.layers.0…` as older checkpoints store them,
  /// `model.layers.0…` as shardplan derives them) map to the same module.
  static func multimodalModuleName(_ name: String, role: TensorRole) -> String {
    var rest = Substring(name)
    for stored in ["model.language_model.", "language_model.model.", "language_model.", "model."]
    where rest.hasPrefix(stored) {
      rest = rest.dropFirst(stored.count)
      break
    }
    switch role {
    case .head: return rest.hasPrefix("lm_head") ? String(rest) : name
    case .vision:
      return name.hasPrefix("model.") ? name : "model." + name
    default: return "model.language_model." + rest
    }
  }

  static func jsonString(_ text: String) -> String {
    var out = "\""
    for character in text.unicodeScalars {
      switch character {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      default:
        if character.value < 0x20 {
          let hex = String(character.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(character)
        }
      }
    }
    return out + "\""
  }

  // MARK: - accelerate

  /// `accelerate_config.yaml`. Inference: one process per replica holding the
  /// model split by `device_map.json` (`distributed_type: 'NO'`), or `MULTI_GPU`
  /// when every replica is one GPU. Training: `DEEPSPEED` or `FSDP` with the
  /// plan's stage, offload and batch, over its nodes.
  func accelerateConfigs(_ workload: WorkloadPlan, suffix: String) throws -> [EmittedFile] {
    if let training = workload.training { return [try accelerateTraining(workload, training, suffix: suffix)] }
    let units = replicas(workload)
    let header = Self.comment(header(workload))
    if units.allSatisfy({ $0.count == 1 }) && units.count > 1 {
      let hostList = hosts(of: units.flatMap { $0 })
      guard hostList.count == 1 else {
        throw InputError(
          .inconsistent,
          source: "--emit accelerate",
          message: "the replicas sit on \(hostList.count) hosts",
          fix: "Plan the replicas on one host's GPUs"
        )
      }
      var text = header
      text += Self.comment([
        "",
        "Data parallel: \(units.count) processes, one per GPU, each holding the whole model (MULTI_GPU).",
      ])
      text += inferenceKeys(distributed: "MULTI_GPU", processes: units.count, gpus: units.flatMap { $0 })
      return [EmittedFile(name: "accelerate_config\(suffix).yaml", contents: text, executable: false)]
    }
    return units.enumerated().map { index, unit in
      var text = header
      text += Self.comment([
        "",
        "One process holds the whole model, its modules spread over GPU \(unit.map(String.init).joined(separator: ",")) by",
        "device_map\(suffix).json: a pipeline split inside one process, so distributed_type is NO. MULTI_GPU would",
        "start one process per GPU, each loading a whole copy of the model (data parallelism).",
      ])
      if units.count > 1 {
        text += Self.comment(["Replica \(index) of \(units.count); each replica has its own config."])
      }
      text += inferenceKeys(distributed: "'NO'", processes: 1, gpus: unit)
      let name = units.count > 1 ? "accelerate_config\(suffix).replica\(index).yaml" : "accelerate_config\(suffix).yaml"
      return EmittedFile(name: name, contents: text, executable: false)
    }
  }

  func inferenceKeys(distributed: String, processes: Int, gpus: [Int]) -> String {
    """
    compute_environment: LOCAL_MACHINE
    distributed_type: \(distributed)
    gpu_ids: '\(visibleDevices(gpus))'
    machine_rank: 0
    main_training_function: main
    mixed_precision: 'no'
    num_machines: 1
    num_processes: \(processes)
    use_cpu: false

    """
  }

  func accelerateTraining(_ workload: WorkloadPlan, _ training: TrainingPlan, suffix: String) throws -> EmittedFile {
    let gpus = replicas(workload).flatMap { $0 }
    let hostList = hosts(of: gpus)
    var text = Self.comment(header(workload))
    let local = Set(hostList.map { visibleDevices($0.gpus) })
    text += Self.comment(
      [
        "",
        "num_processes counts every process on every machine (\(training.nodes) × \(training.processesPerNode)).",
      ]
        + (hostList.count > 1
          ? [
            "On machine k run `accelerate launch --config_file accelerate_config\(suffix).yaml --machine_rank k …`;",
            "machine 0 is \(hostName(hostList[0].host)), reachable from the others at main_process_ip.",
          ] : [])
        + (training.trainer == .fsdp
          ? [
            "FSDP has no accumulation key here: pass gradient_accumulation_steps=\(training.gradientAccumulation) to",
            "Accelerator (or --gradient_accumulation_steps to the Trainer).",
          ] : [])
        + (local.count > 1
          ? ["The nodes use different GPU numbers; gpu_ids holds machine 0's, pass --gpu_ids on the others."] : [])
        + trainingNotes(training)
    )
    text += "compute_environment: LOCAL_MACHINE\n"
    if training.trainer == .deepspeed {
      text += "deepspeed_config:\n"
      if hostList.count > 1 { text += "  deepspeed_multinode_launcher: standard\n" }
      text += "  gradient_accumulation_steps: \(training.gradientAccumulation)\n"
      text += "  gradient_clipping: 1.0\n"
      text += "  offload_optimizer_device: \(training.offload == .none ? "none" : training.offload.rawValue)\n"
      if training.offload == .nvme { text += "  offload_optimizer_nvme_path: \(Self.nvmePath)\n" }
      let offloadParams = training.zeroStage == 3 && training.offload != .none
      text += "  offload_param_device: \(offloadParams ? training.offload.rawValue : "none")\n"
      if offloadParams && training.offload == .nvme { text += "  offload_param_nvme_path: \(Self.nvmePath)\n" }
      text += "  zero3_init_flag: \(training.zeroStage == 3)\n"
      if training.zeroStage == 3 { text += "  zero3_save_16bit_model: true\n" }
      text += "  zero_stage: \(training.zeroStage)\n"
      text += "distributed_type: DEEPSPEED\n"
    } else {
      text += "distributed_type: FSDP\n"
      text += "fsdp_config:\n"
      text += "  fsdp_activation_checkpointing: \(training.gradientCheckpointing)\n"
      text += "  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP\n"
      text += "  fsdp_backward_prefetch: BACKWARD_PRE\n"
      text += "  fsdp_cpu_ram_efficient_loading: true\n"
      text += "  fsdp_forward_prefetch: false\n"
      text += "  fsdp_offload_params: \(training.offload != .none)\n"
      text += "  fsdp_sharding_strategy: \(training.fsdpShardingStrategy)\n"
      text += "  fsdp_state_dict_type: SHARDED_STATE_DICT\n"
      text += "  fsdp_sync_module_states: true\n"
      text += "  fsdp_use_orig_params: true\n"
      text += "  fsdp_version: 1\n"
    }
    text += "gpu_ids: '\(visibleDevices(hostList[0].gpus))'\n"
    text += "machine_rank: 0\n"
    if hostList.count > 1 {
      text += "main_process_ip: \(Self.yamlText(hostName(hostList[0].host)))\n"
      text += "main_process_port: \(Port.torchMaster)\n"
    }
    text += "main_training_function: main\n"
    text += "mixed_precision: \(training.mixedPrecision)\n"
    text += "num_machines: \(training.nodes)\n"
    text += "num_processes: \(gpus.count)\n"
    text += "rdzv_backend: \(hostList.count > 1 ? "c10d" : "static")\n"
    text += "same_network: true\n"
    text += "use_cpu: false\n"
    return EmittedFile(name: "accelerate_config\(suffix).yaml", contents: text, executable: false)
  }

  /// Where NVMe offload goes; a placeholder the user changes to their mount.
  static let nvmePath = "/local_nvme"

  /// A YAML scalar, quoted when it is not a plain word.
  static func yamlText(_ text: String) -> String {
    let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }
    if plain, let first = text.first, first.isLetter,
      !["yes", "no", "true", "false", "null", "on", "off"].contains(text.lowercased())
    {
      return text
    }
    // A JSON string is a YAML double-quoted scalar: line breaks stay escaped.
    return jsonString(text)
  }
}
