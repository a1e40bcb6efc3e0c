/// Training launch files: `ds_config.json`, `hostfile`, `torchrun.sh`.
extension Emitter {
  // MARK: - DeepSpeed

  /// `ds_config.json` (and `hostfile` over several nodes). Batch sizes agree:
  /// `train_batch_size` = micro-batch × accumulation × data-parallel size. Bucket
  /// sizes follow the model's hidden size as transformers' DeepSpeed integration
  /// sets its `auto` values (hidden², 0.9 · hidden², 10 · hidden).
  func deepSpeedFiles(_ workload: WorkloadPlan, suffix: String) throws -> [EmittedFile] {
    guard let training = workload.training else { return [] }
    let spec = try model(workload)
    let hidden = Int64(max(spec.hiddenSize, 1))
    var root: [(String, JSONText)] = [
      ("_comment", .string((header(workload) + trainingNotes(training)).joined(separator: " "))),
      ("train_batch_size", .int(Int64(training.globalBatch))),
      ("train_micro_batch_size_per_gpu", .int(Int64(training.microBatch))),
      ("gradient_accumulation_steps", .int(Int64(training.gradientAccumulation))),
      ("gradient_clipping", .number("1.0")),
    ]
    if training.mixedPrecision == "bf16" {
      root.append(("bf16", .object([("enabled", .bool(true))])))
    } else {
      root.append(
        (
          "fp16",
          .object([
            ("enabled", .bool(true)), ("loss_scale", .int(0)), ("loss_scale_window", .int(1000)),
            ("initial_scale_power", .int(16)), ("hysteresis", .int(2)), ("min_loss_scale", .int(1)),
          ])
        )
      )
    }
    var zero: [(String, JSONText)] = [("stage", .int(Int64(training.zeroStage)))]
    func offload(_ device: Workload.Training.Offload) -> JSONText {
      var fields: [(String, JSONText)] = [("device", .string(device.rawValue))]
      if device == .nvme { fields.append(("nvme_path", .string(Self.nvmePath))) }
      fields.append(("pin_memory", .bool(true)))
      return .object(fields)
    }
    if training.zeroStage >= 1 {
      zero += [
        ("overlap_comm", .bool(true)),
        ("contiguous_gradients", .bool(true)),
        ("reduce_bucket_size", .int(hidden * hidden)),
      ]
      if training.offload != .none { zero.append(("offload_optimizer", offload(training.offload))) }
    }
    if training.zeroStage == 3 {
      if training.offload != .none { zero.append(("offload_param", offload(training.offload))) }
      zero += [
        ("stage3_prefetch_bucket_size", .int(hidden * hidden * 9 / 10)),
        ("stage3_param_persistence_threshold", .int(10 * hidden)),
        // DeepSpeed's documented defaults for these two and the sub-group size that
        // accelerate's ZeRO-3 templates use (parameters, not bytes).
        ("stage3_max_live_parameters", .int(1_000_000_000)),
        ("stage3_max_reuse_distance", .int(1_000_000_000)),
        ("stage3_gather_16bit_weights_on_model_save", .bool(true)),
        ("sub_group_size", .int(1_000_000_000)),
      ]
    }
    root.append(("zero_optimization", .object(zero)))
    if training.offload != .none && training.zeroStage >= 1 {
      // ZeRO-Offload steps the optimizer on the CPU with DeepSpeed's own Adam; the
      // "auto" values come from the Trainer's or accelerate's arguments.
      root.append(
        (
          "optimizer",
          .object([
            ("type", .string("AdamW")),
            (
              "params",
              .object([
                ("lr", .string("auto")), ("betas", .string("auto")), ("eps", .string("auto")),
                ("weight_decay", .string("auto")),
              ])
            ),
          ])
        )
      )
    }
    root.append(("steps_per_print", .int(100)))
    root.append(("wall_clock_breakdown", .bool(false)))
    var files = [
      EmittedFile(name: "ds_config\(suffix).json", contents: JSONText.object(root).render() + "\n", executable: false)
    ]
    let hostList = hosts(of: replicas(workload).flatMap { $0 })
    if hostList.count > 1 { files.append(try hostfile(workload, hosts: hostList, suffix: suffix)) }
    return files
  }

  /// DeepSpeed's hostfile: `host slots=N`, each host once.
  func hostfile(
    _ workload: WorkloadPlan,
    hosts hostList: [(host: Int, gpus: [Int])],
    suffix: String
  ) throws
    -> EmittedFile
  {
    var seen: Set<String> = []
    for entry in hostList {
      let name = hostName(entry.host)
      guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
        throw InputError(
          .inconsistent,
          source: "--emit deepspeed",
          field: "host \(entry.host)",
          message: "host name '\(name)' cannot go in a DeepSpeed hostfile",
          fix: "Name the hosts of the topology by their network names (letters, digits, '-', '_', '.')"
        )
      }
      guard seen.insert(name).inserted else {
        throw InputError(
          .inconsistent,
          source: "--emit deepspeed",
          message: "two hosts are both named '\(name)'",
          fix: "Give every host of the topology its own network name"
        )
      }
    }
    var text = Self.comment(
      header(workload) + ["", "DeepSpeed hostfile: one line per node, slots = processes (GPUs) on it."]
    )
    let custom = hostList.contains { entry in
      entry.gpus.map { graph.gpus[$0].localIndex } != Array(0..<entry.gpus.count)
    }
    if custom {
      let include = hostList.map { "\(hostName($0.host)):\(visibleDevices($0.gpus))" }.joined(separator: "@")
      text += Self.comment(["The plan uses particular GPUs: launch with --include \(include)"])
    }
    for entry in hostList { text += "\(hostName(entry.host)) slots=\(entry.gpus.count)\n" }
    return EmittedFile(name: "hostfile\(suffix)", contents: text, executable: false)
  }

  // MARK: - torchrun

  /// `torchrun.sh TRAIN_SCRIPT [ARGS…]`: `--standalone` on one node; over several,
  /// c10d rendezvous at the first node, run on every node with `NODE_RANK`.
  func torchrunScript(_ workload: WorkloadPlan, suffix: String) throws -> EmittedFile {
    guard let training = workload.training else {
      throw InputError(
        .inconsistent,
        source: "--emit torchrun",
        message: "torchrun launches training plans; this workload serves a model",
        fix: "Plan a training run with --train, or emit the serving engine's script"
      )
    }
    let hostList = hosts(of: replicas(workload).flatMap { $0 })
    var body = "if [ \"$#\" -lt 1 ]; then echo \"usage: $0 TRAIN_SCRIPT [ARGS...]\" >&2; exit 2; fi\n"
    if hostList.count == 1 {
      body += "export CUDA_VISIBLE_DEVICES=\(visibleDevices(hostList[0].gpus))\n"
      body += "exec torchrun --standalone --nnodes=1 --nproc-per-node=\(training.processesPerNode) \"$@\"\n"
    } else {
      body += nodeSelection(hosts: hostList)
      body += "MASTER_PORT=\"${MASTER_PORT:-\(Port.torchMaster)}\"\n"
      body += "exec torchrun \\\n"
      body += "  --nnodes=\(training.nodes) \\\n"
      body += "  --nproc-per-node=\(training.processesPerNode) \\\n"
      body += "  --node-rank=\"$NODE_RANK\" \\\n"
      body += "  --rdzv-backend=c10d \\\n"
      body += "  --rdzv-endpoint=\"$MASTER_ADDR:$MASTER_PORT\" \\\n"
      body += "  --rdzv-id=\(Self.safeName("shardplan-" + workload.role)) \\\n"
      body += "  \"$@\"\n"
    }
    var notes = [
      "",
      "Usage: torchrun\(suffix).sh TRAIN_SCRIPT [ARGS...]; \(training.nodes * training.processesPerNode) processes in all.",
    ]
    if training.trainer == .deepspeed {
      notes.append(
        "For DeepSpeed through the Hugging Face Trainer pass --deepspeed ds_config\(suffix).json to the script."
      )
    }
    notes += trainingNotes(training)
    return EmittedFile(
      name: "torchrun\(suffix).sh",
      contents: Self.script(header: header(workload) + notes, body: body),
      executable: true
    )
  }
}

/// JSON written in a fixed key order (the order given), for config files people read.
indirect enum JSONText {
  case object([(String, JSONText)])
  case string(String)
  case int(Int64)
  /// A number written as given (`1.0`).
  case number(String)
  case bool(Bool)

  func render(indent: String = "") -> String {
    switch self {
    case .object(let fields):
      guard !fields.isEmpty else { return "{}" }
      let inner = indent + "  "
      let lines = fields.map { "\(inner)\(Emitter.jsonString($0.0)): \($0.1.render(indent: inner))" }
      return "{\n" + lines.joined(separator: ",\n") + "\n\(indent)}"
    case .string(let text): return Emitter.jsonString(text)
    case .int(let value): return "\(value)"
    case .number(let text): return text
    case .bool(let value): return value ? "true" : "false"
    }
  }
}
