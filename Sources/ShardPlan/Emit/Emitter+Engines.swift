/// Serving engines: `vllm serve`, SGLang's `launch_server` and `llama-server`.
extension Emitter {
  // MARK: - vLLM

  /// `vllm.sh`: one engine over the plan's GPUs. Several hosts use vLLM's
  /// multiprocessing launch (`--nnodes`, `--node-rank`, `--master-addr`,
  /// `--headless` on the others) for one engine over nodes, or its multi-node data
  /// parallelism (`--data-parallel-size-local`, `--data-parallel-start-rank`) for
  /// replicas.
  func vllmScript(_ workload: WorkloadPlan, suffix: String) throws -> EmittedFile {
    let source = "--emit vllm"
    let spec = try model(workload)
    let units = engineUnits(workload)
    let expert = workload.strategy == .expert
    var arguments: [[String]] = [
      ["--tensor-parallel-size", "\(workload.tensorParallel)"],
      ["--pipeline-parallel-size", "\(expert ? 1 : workload.pipelineParallel)"],
      ["--data-parallel-size", "\(units.count)"],
    ]
    if expert { arguments.append(["--enable-expert-parallel"]) }
    if let redundant = workload.redundantExperts, redundant > 0 {
      arguments.append(["--enable-eplb"])
      arguments.append(["--eplb-config", Self.shellQuote("{\"num_redundant_experts\":\(redundant)}")])
    }
    let gpus = units.flatMap { $0 }
    arguments.append([
      "--gpu-memory-utilization",
      Self.fraction(gpus.map { gpu in share(workload, gpu: gpu) }.map { ($0.budget, $0.used, $0.capacity) }),
    ])
    let serving = try servingFlags(workload, spec, names: .vllm, source: source)
    arguments.append(contentsOf: serving.arguments)
    var body = serving.modelLine
    if let partition = workload.vllmLayerPartition {
      body += "# Uneven pipeline stages (vLLM's own split would differ): layers per stage.\n"
      body += "export VLLM_PP_LAYER_PARTITION=\(partition)\n"
    }
    let hostList = hosts(of: gpus)
    if hostList.count == 1 {
      body += "export CUDA_VISIBLE_DEVICES=\(visibleDevices(gpus))\n"
      body += Self.bashArray("args", arguments)
    } else if units.count == 1 {
      try checkNodeMajor(units[0], hosts: hostList, engine: "vLLM", source: source)
      body += "# One engine over \(hostList.count) nodes, started on each (vLLM's multiprocessing launch).\n"
      body += nodeSelection(hosts: hostList)
      body += Self.bashArray("args", arguments)
      body += "args+=(--nnodes \(hostList.count) --node-rank \"$NODE_RANK\" --master-addr \"$MASTER_ADDR\")\n"
      body += "if [ \"$NODE_RANK\" -gt 0 ]; then args+=(--headless); fi\n"
    } else {
      let perHost = try unitsPerHost(units, hosts: hostList, engine: "vLLM", source: source)
      var start = 0
      var starts: [String] = []
      for count in perHost {
        starts.append("\(start)")
        start += count
      }
      body +=
        "# \(units.count) data-parallel ranks over \(hostList.count) nodes (vLLM's multi-node data parallelism); the first node serves the API.\n"
      body += nodeSelection(
        hosts: hostList,
        extra: [("DP_LOCAL", perHost.map(String.init)), ("DP_START", starts)]
      )
      body += Self.bashArray("args", arguments)
      body +=
        "args+=(--data-parallel-size-local \"$DP_LOCAL\" --data-parallel-start-rank \"$DP_START\" --data-parallel-address \"$MASTER_ADDR\" --data-parallel-rpc-port \(Port.vllmDataParallelRPC))\n"
      body += "if [ \"$NODE_RANK\" -gt 0 ]; then args+=(--headless); fi\n"
    }
    body += "exec vllm serve \"$MODEL\" \"${args[@]}\" \"$@\"\n"
    return EmittedFile(
      name: "vllm\(suffix).sh",
      contents: Self.script(header: header(workload) + vllmNotes(workload), body: body),
      executable: true
    )
  }

  func vllmNotes(_ workload: WorkloadPlan) -> [String] {
    [
      "",
      "--gpu-memory-utilization is this engine's share of each card: its planned bytes plus its part of the",
      "free memory, over the card's capacity (vLLM gives what is left after weights and activations to KV cache).",
      sequencesNote(workload, flag: "--max-num-seqs", names: .vllm),
      "Extra arguments are passed on to vllm serve; set MODEL to serve a local copy.",
    ]
  }

  /// Where the sequences flag's value comes from: the plan's `--concurrency` (1
  /// unless asked), each instance's share, the number the memory was planned for.
  func sequencesNote(_ workload: WorkloadPlan, flag: String, names: ServingNames) -> String {
    let value = sequencesFlag(workload, names: names)
    let instances = engineUnits(workload).count
    let share =
      value == workload.concurrency ? "" : " over \(instances) \(workload.strategy == .expert ? "ranks" : "replicas")"
    return
      "\(flag) \(value) is the plan's --concurrency \(workload.concurrency)\(share): the memory above is planned for that many sequences; plan again with --concurrency N to serve more."
  }

  // MARK: - SGLang

  /// `sglang.sh`: `python3 -m sglang.launch_server`. One engine over several hosts
  /// uses `--nnodes`, `--node-rank` and `--dist-init-addr`; data-parallel replicas
  /// on several hosts become one independent server per host (put SGLang's router
  /// in front).
  func sglangScript(_ workload: WorkloadPlan, suffix: String) throws -> EmittedFile {
    let source = "--emit sglang"
    let spec = try model(workload)
    let units = engineUnits(workload)
    let expert = workload.strategy == .expert
    let gpus = units.flatMap { $0 }
    let hostList = hosts(of: gpus)
    // Static memory (weights and the KV pool) of the engine's share of each card.
    let statics = gpus.map { gpu -> (Int64, Int64, Int64) in
      let part = share(workload, gpu: gpu)
      let own = workload.gpuShares.first { $0.gpu == gpu }
      let stored = (own?.weightBytes ?? 0) + (own?.kvCacheBytes ?? 0)
      return (part.budget - part.used + stored, stored, part.capacity)
    }
    var arguments: [[String]] = [["--model-path", "\"$MODEL\""]]
    if expert {
      // SGLang's tensor-parallel group is every GPU of the expert-parallel group;
      // attention runs data parallel inside it (`--attn-dp-size`, which replaced
      // `--dp-size N --enable-dp-attention`).
      arguments.append(["--tp-size", "\(workload.expertParallel)"])
      arguments.append(["--ep-size", "\(workload.expertParallel)"])
      if workload.dataParallel > 1 { arguments.append(["--attn-dp-size", "\(workload.dataParallel)"]) }
      if let redundant = workload.redundantExperts, redundant > 0 {
        arguments.append(["--ep-num-redundant-experts", "\(redundant)"])
        arguments.append(["--enable-eplb"])
      }
    } else {
      arguments.append(["--tp-size", "\(workload.tensorParallel)"])
      arguments.append(["--pp-size", "\(workload.pipelineParallel)"])
    }
    arguments.append(["--mem-fraction-static", Self.fraction(statics)])
    let serving = try servingFlags(workload, spec, names: .sglang, source: source)
    arguments.append(contentsOf: serving.arguments)
    var body = serving.modelLine
    if hostList.count == 1 {
      if !expert { arguments.insert(["--dp-size", "\(units.count)"], at: 3) }
      body += "export CUDA_VISIBLE_DEVICES=\(visibleDevices(gpus))\n"
      body += Self.bashArray("args", arguments)
    } else if units.count == 1 || expert {
      try checkNodeMajor(gpus, hosts: hostList, engine: "SGLang", source: source)
      if !expert { arguments.insert(["--dp-size", "1"], at: 3) }
      body += "# One engine over \(hostList.count) nodes, started on each.\n"
      body += nodeSelection(hosts: hostList)
      body += Self.bashArray("args", arguments)
      body +=
        "args+=(--nnodes \(hostList.count) --node-rank \"$NODE_RANK\" --dist-init-addr \"$MASTER_ADDR:\(Port.sglangDistributedInit)\")\n"
    } else {
      let perHost = try unitsPerHost(units, hosts: hostList, engine: "SGLang", source: source)
      body +=
        "# \(units.count) replicas over \(hostList.count) nodes: an independent server on each node with its own replicas;\n"
      body += "# put SGLang's router (sglang_router) in front of them.\n"
      body += nodeSelection(hosts: hostList, addressVariable: nil, extra: [("DP_LOCAL", perHost.map(String.init))])
      body += Self.bashArray("args", arguments)
      body += "args+=(--dp-size \"$DP_LOCAL\")\n"
    }
    body += "exec python3 -m sglang.launch_server \"${args[@]}\" \"$@\"\n"
    return EmittedFile(
      name: "sglang\(suffix).sh",
      contents: Self.script(
        header: header(workload) + [
          "",
          "--mem-fraction-static is the share of each card for weights and the KV pool: the planned weights and KV",
          "cache plus this engine's part of the free memory, over the card's capacity; activations and CUDA graphs",
          "live in the rest.",
          sequencesNote(workload, flag: "--max-running-requests", names: .sglang),
          "Extra arguments are passed on; set MODEL to serve a local copy.",
        ],
        body: body
      ),
      executable: true
    )
  }

  /// An engine's name for the plan's KV cache type, from `spellings`; the engine
  /// lacking the type is an error that says which to plan instead.
  func kvCacheValue(
    _ workload: WorkloadPlan,
    engine: String,
    spellings: [KVCacheType: String],
    suggested: KVCacheType
  ) throws -> String {
    guard let type = workload.kvCache, let value = spellings[type] else {
      let known = KVCacheType.allCases.filter { spellings[$0] != nil }.map(\.rawValue)
      throw InputError(
        .inconsistent,
        source: "--emit \(engine.lowercased())",
        message: "\(engine) has no \(workload.kvCache?.rawValue ?? "missing") KV cache",
        expected: known.joined(separator: ", "),
        fix: "Plan again with --kv-dtype \(suggested.rawValue), \(engine)'s 8-bit cache"
      )
    }
    return value
  }

  // MARK: - llama.cpp

  /// `llama.sh`: `llama-server` with the plan's layer split (`--tensor-split` in
  /// layer slots, so each GPU gets exactly its stage), GPU layers, experts kept in
  /// RAM (`--override-tensor`) and KV cache type. Replicas are separate servers on
  /// consecutive ports.
  func llamaScript(_ workload: WorkloadPlan, suffix: String) throws -> EmittedFile {
    let source = "--emit llama.cpp"
    let spec = try model(workload)
    let units = engineUnits(workload)
    let hostList = hosts(of: units.flatMap { $0 })
    guard hostList.count == 1 else {
      throw InputError(
        .inconsistent,
        source: source,
        message: "the plan puts llama.cpp on \(hostList.count) hosts; llama-server runs on one",
        fix: "Plan on one host's GPUs (a topology or --role pins of one node)"
      )
    }
    guard workload.strategy != .expert else {
      throw InputError(
        .inconsistent,
        source: source,
        message: "llama.cpp has no expert parallelism; this plan spreads experts over \(workload.expertParallel) GPUs",
        fix: "Plan again with --engine llama.cpp (it keeps each layer's experts together)"
      )
    }
    // Every cache type of llama.cpp's `--cache-type-k` list; it has no fp8. An
    // encoder keeps no cache: llama-server serves it with --embedding.
    let kv =
      spec.isEncoder
      ? nil
      : try kvCacheValue(
        workload,
        engine: "llama.cpp",
        spellings: EngineProfile.profile(.llamaCpp).kvCacheSpellings,
        suggested: .q8_0
      )
    var arguments: [[String]] = [["-m", "\"$MODEL\""]]
    let slots = workload.llamaCppGPULayerSlots ?? (spec.layers + 1)
    arguments.append(["-ngl", "\(slots)"])
    let devices = units[0]
    if devices.count == 1 {
      arguments.append(["--split-mode", "none"])
    } else {
      arguments.append(["--split-mode", "layer"])
      arguments.append(["--tensor-split", try tensorSplit(workload, devices: devices, source: source)])
    }
    arguments.append(["--main-gpu", "0"])
    arguments.append(["-c", "\(workload.context * workload.concurrency)"])
    arguments.append(["--parallel", "\(workload.concurrency)"])
    if let kv {
      arguments.append(["-ctk", kv])
      arguments.append(["-ctv", kv])
    } else {
      arguments.append(["--embedding"])
    }
    if let kv, KVCacheType(name: kv).map({ ![.f32, .f16, .bf16].contains($0) }) ?? false {
      // llama.cpp quantizes the V cache only with flash attention.
      arguments.append(["--flash-attn", "on"])
    }
    if let experts = workload.cpuExpertLayers, experts > 0 {
      let layers = (0..<experts).map(String.init).joined(separator: "|")
      arguments.append([
        "--override-tensor", Self.shellQuote("blk\\.(\(layers))\\.ffn_(up|down|gate|gate_up)_(ch|)exps=CPU"),
      ])
    }
    var body = "# Set MODEL to the GGUF file of \(workload.model) as \(workload.weights.label).\n"
    let isFile = workload.model.lowercased().hasSuffix(".gguf")
    body +=
      isFile
      ? "MODEL=\"${MODEL:-\(Self.shellDefault(workload.model))}\"\n"
      : "MODEL=\"${MODEL:?set MODEL to the .gguf file of \(Self.shellMessage(workload.model)) as \(Self.shellMessage(workload.weights.label))}\"\n"
    body += Self.bashArray("args", arguments)
    let port = Port.llamaServer + 10 * roleIndex(workload)
    if units.count == 1 {
      body += "export CUDA_VISIBLE_DEVICES=\(visibleDevices(devices))\n"
      body += "exec llama-server \"${args[@]}\" --port \(port) \"$@\"\n"
    } else {
      body += "# \(units.count) replicas, one llama-server each on its own GPUs and port.\n"
      for (index, unit) in units.enumerated() {
        body +=
          "CUDA_VISIBLE_DEVICES=\(visibleDevices(unit)) llama-server \"${args[@]}\" --port \(port + index) \"$@\" &\n"
      }
      body += "wait\n"
    }
    var notes = [
      "",
      "-ngl counts the output layer as one of n_layer + 1 slots; --tensor-split gives each GPU its slots in",
      "order, so GPU k holds exactly its stage. -c is the KV cache of all --parallel sequences together.",
    ]
    if workload.cpuExpertLayers != nil && devices.count > 1 {
      notes.append("--tensor-split follows the planned weight bytes on each GPU (llama.cpp splits whole layers).")
    }
    return EmittedFile(
      name: "llama\(suffix).sh",
      contents: Self.script(header: header(workload) + notes, body: body),
      executable: true
    )
  }

  /// `--tensor-split` proportions: each stage's layer slots (the last stage also
  /// holds the output layer's slot), or, for expert offload over several GPUs,
  /// each GPU's planned weight bytes in MiB.
  func tensorSplit(_ workload: WorkloadPlan, devices: [Int], source: String) throws -> String {
    if workload.cpuExpertLayers != nil {
      return devices.map { gpu in
        let bytes = workload.gpuShares.first { $0.gpu == gpu }?.weightBytes ?? 0
        return String(max(bytes >> 20, 1))
      }.joined(separator: ",")
    }
    guard workload.stages.count == devices.count, workload.stages.allSatisfy({ $0.devices.count == 1 }) else {
      throw InputError(
        .inconsistent,
        source: source,
        message: "llama.cpp splits whole layers; this plan has \(workload.tensorParallel)-GPU tensor-parallel stages",
        fix: "Plan again with --engine llama.cpp (layer splits only)"
      )
    }
    return workload.stages.enumerated().map { index, stage in
      String(stage.lastLayer - stage.firstLayer + 1 + (index == workload.stages.count - 1 ? 1 : 0))
    }.joined(separator: ",")
  }

  // MARK: - Shared

  /// What vLLM and SGLang call the flags they share in meaning.
  struct ServingNames {
    var engine: String
    var context: String
    var sequences: String
    var kvSpellings: [KVCacheType: String]
    var port: Int
    /// Whether the sequences flag of an expert-parallel (DP-attention) server is the
    /// whole server's, divided over its attention ranks by the engine (SGLang's
    /// `max_running_requests // attn_dp_size`), rather than each rank's (vLLM).
    var sequencesOverAttentionRanks = false
    /// The flag that serves an encoder as a pooling (embedding) model.
    var pooling: [String] = []

    static let vllm = ServingNames(
      engine: "vLLM",
      context: "--max-model-len",
      sequences: "--max-num-seqs",
      kvSpellings: EngineProfile.profile(.vllm).kvCacheSpellings,
      port: Port.vllm,
      // vLLM 0.32's `--runner pooling` (its older `--task embed` is gone).
      pooling: ["--runner", "pooling"]
    )
    static let sglang = ServingNames(
      engine: "SGLang",
      context: "--context-length",
      sequences: "--max-running-requests",
      kvSpellings: EngineProfile.profile(.sglang).kvCacheSpellings,
      port: Port.sglang,
      sequencesOverAttentionRanks: true,
      pooling: ["--is-embedding"]
    )
  }

  /// The flags vLLM and SGLang share — context, sequences, KV cache type, CPU
  /// offload, precision, port — under the engine's names, and the MODEL line.
  func servingFlags(
    _ workload: WorkloadPlan,
    _ spec: ModelSpec,
    names: ServingNames,
    source: String
  ) throws -> (
    arguments: [[String]], modelLine: String
  ) {
    var arguments: [[String]] = [
      [names.context, "\(workload.context)"],
      [names.sequences, "\(sequencesFlag(workload, names: names))"],
    ]
    if spec.isEncoder {
      // An encoder (an embedding or reranking model) has no KV cache and no decode:
      // the engine serves it as a pooling model.
      arguments.append(names.pooling)
    } else {
      arguments.append([
        "--kv-cache-dtype",
        try kvCacheValue(workload, engine: names.engine, spellings: names.kvSpellings, suggested: .fp8),
      ])
    }
    if let offload = offloadGiB(workload) { arguments.append(["--cpu-offload-gb", offload]) }
    let weights = try weightFlags(workload, spec, source: source, engine: names.engine)
    arguments.append(contentsOf: weights.flags)
    arguments.append(["--port", "\(names.port + roleIndex(workload))"])
    return (arguments, modelLine(workload, requirement: weights.requirement))
  }

  /// The sequences flag's value: `--concurrency` counts the whole deployment's
  /// sequences, and each engine instance (replica or data-parallel rank) schedules
  /// its share — except where the engine divides a DP-attention server's flag over
  /// its ranks itself (SGLang), which then gets the whole count.
  func sequencesFlag(_ workload: WorkloadPlan, names: ServingNames) -> Int {
    if names.sequencesOverAttentionRanks, workload.strategy == .expert { return max(workload.concurrency, 1) }
    return Planner.sequencesPerCopy(workload.concurrency, copies: engineUnits(workload).count)
  }

  /// `--cpu-offload-gb` of vLLM and SGLang: the GiB of weights an offload plan keeps
  /// in CPU RAM per GPU, rounded up (the engines copy them to the GPU on every pass).
  func offloadGiB(_ workload: WorkloadPlan) -> String? {
    guard (workload.cpuLayers ?? 0) > 0, workload.cpuBytes > 0 else { return nil }
    let gpus = Int64(max(replicas(workload).first?.count ?? 1, 1))
    return String((workload.cpuBytes / gpus + (1 << 30) - 1) >> 30)
  }

  /// Engine instances' GPU lists: each data-parallel replica, or for an
  /// expert-parallel plan each attention data-parallel rank (a tensor-parallel group).
  func engineUnits(_ workload: WorkloadPlan) -> [[Int]] {
    guard workload.strategy == .expert else { return replicas(workload) }
    let all = workload.stages.flatMap(\.devices)
    let size = max(workload.tensorParallel, 1)
    return stride(from: 0, to: all.count, by: size).map { Array(all[$0..<min($0 + size, all.count)]) }
  }

  /// The workload's position among the plan's roles (for distinct ports).
  func roleIndex(_ workload: WorkloadPlan) -> Int {
    plan.workloads.firstIndex { $0.role == workload.role } ?? 0
  }

  /// Checks that one engine's GPUs come host by host with the same count on each:
  /// engines number their ranks node by node.
  func checkNodeMajor(_ gpus: [Int], hosts: [(host: Int, gpus: [Int])], engine: String, source: String) throws {
    var changes = 0
    for (a, b) in zip(gpus, gpus.dropFirst()) where graph.gpus[a].host != graph.gpus[b].host { changes += 1 }
    let counts = Set(hosts.map(\.gpus.count))
    guard changes == hosts.count - 1, counts.count == 1 else {
      throw InputError(
        .inconsistent,
        source: source,
        message:
          "\(engine) numbers ranks node by node with the same GPU count on each node; this layout puts \(hosts.map { "\($0.gpus.count) on \(hostName($0.host))" }.joined(separator: ", ")) in another order",
        fix: "Use the same number of GPUs on every node, stages in node order"
      )
    }
  }

  /// How many engine units (replicas) each host runs, checking that none spans hosts.
  func unitsPerHost(_ units: [[Int]], hosts: [(host: Int, gpus: [Int])], engine: String, source: String) throws -> [Int]
  {
    var counts = [Int](repeating: 0, count: hosts.count)
    var previous = -1
    for unit in units {
      let unitHosts = Set(unit.map { graph.gpus[$0].host })
      guard unitHosts.count == 1, let host = unitHosts.first,
        let position = hosts.firstIndex(where: { $0.host == host })
      else {
        throw InputError(
          .inconsistent,
          source: source,
          message:
            "a replica spans several hosts; \(engine) data parallelism over nodes needs each replica on one node",
          fix: "Plan one replica over the nodes (--objective latency) or replicas that each fit a node"
        )
      }
      guard position >= previous else {
        throw InputError(
          .inconsistent,
          source: source,
          message: "replicas alternate between hosts; \(engine) numbers them node by node",
          fix: "List the replicas of each node together"
        )
      }
      previous = position
      counts[position] += 1
    }
    return counts
  }

  /// `--dtype` / `--quantization` for vLLM and SGLang from the plan's weight format
  /// and the checkpoint's own quantization, and what MODEL must be when the engine
  /// cannot produce the format itself (nil: the planned model serves as is).
  func weightFlags(
    _ workload: WorkloadPlan,
    _ spec: ModelSpec,
    source: String,
    engine: String
  ) throws -> (
    flags: [[String]], requirement: String?
  ) {
    let stored = spec.quantization?.lowercased() ?? ""
    guard let format = workload.weights.format else { return ([], nil) }
    switch format {
    case .float(let dtype):
      let name =
        switch dtype {
        case .f32: "float32"
        case .f16: "float16"
        default: "bfloat16"
        }
      return (stored.isEmpty ? [["--dtype", name]] : [], nil)
    case .fp8: return (stored.contains("fp8") ? [] : [["--quantization", "fp8"]], nil)
    case .nf4:
      return (
        stored.contains("bitsandbytes") || stored.contains("nf4") ? [] : [["--quantization", "bitsandbytes"]], nil
      )
    case .int4, .int8, .mxfp4:
      let matches: [String] =
        switch format {
        case .int4: ["gptq", "awq", "compressed", "int4"]
        case .int8: ["gptq", "compressed", "int8", "w8a8"]
        default: ["mxfp4"]
        }
      if matches.contains(where: stored.contains) { return ([], nil) }
      // The engine reads the quantization from the checkpoint; it cannot make it.
      let kind = format == .mxfp4 ? "MXFP4" : "\(format.key) (GPTQ, AWQ or compressed-tensors)"
      return ([], "an \(kind) checkpoint of \(spec.name)")
    case .gguf:
      throw InputError(
        .inconsistent,
        source: source,
        message: "\(engine) does not run llama.cpp's \(workload.weights.label) weights",
        fix: "Plan with --engine llama.cpp for GGUF quantizations"
      )
    }
  }

  /// The `MODEL=` line of a serving script: the planned model by default, or a
  /// required value when the planned name is not something the engine can load.
  func modelLine(_ workload: WorkloadPlan, requirement: String?) -> String {
    let name = workload.model
    if let requirement {
      return "MODEL=\"${MODEL:?set MODEL to \(Self.shellMessage(requirement))}\"\n"
    }
    if name.lowercased().hasSuffix(".json") || name.lowercased().hasSuffix(".gguf") {
      return
        "MODEL=\"${MODEL:?set MODEL to the Hub id or folder of the model planned from \(Self.shellMessage(name))}\"\n"
    }
    return "MODEL=\"${MODEL:-\(Self.shellDefault(name))}\"\n"
  }
}
