import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

@Suite("Emitters")
struct EmitterTests {
  /// llama.cpp's layer → device rule (src/llama-model.cpp `load_tensors`): slot
  /// `layers` is the output layer; nil is the CPU.
  static func llamaDevices(layers: Int, gpuLayers: Int, split: [Double]) -> [Int?] {
    let total = split.reduce(0, +)
    var running = 0.0
    let points = split.map { part -> Double in
      running += part
      return running / total
    }
    let start = max(layers + 1 - gpuLayers, 0)
    let active = min(gpuLayers, layers + 1)
    return (0...layers).map { layer in
      if layer < start || layer - start >= active { return nil }
      let value = Double(layer - start) / Double(active)
      return points.firstIndex { $0 > value }
    }
  }

  static func counts(_ devices: [Int?], gpus: Int) -> [Int] {
    (0..<gpus).map { gpu in devices.filter { $0 == gpu }.count }
  }

  @Test func theLayerRuleReproducesTheReferenceVectors() {
    // shared/reference/formats/llamacpp/ffn_exps_regex_and_layer_assignment.txt
    #expect(Self.counts(Self.llamaDevices(layers: 32, gpuLayers: 99, split: [3, 1]), gpus: 2) == [25, 8])
    #expect(Self.counts(Self.llamaDevices(layers: 32, gpuLayers: 99, split: [1, 1]), gpus: 2) == [17, 16])
    let partial = Self.llamaDevices(layers: 32, gpuLayers: 20, split: [1, 1])
    #expect(partial.filter { $0 == nil }.count == 13 && Self.counts(partial, gpus: 2) == [10, 10])
    #expect(Self.counts(Self.llamaDevices(layers: 80, gpuLayers: 99, split: [24, 24, 12]), gpus: 3) == [33, 32, 16])
  }

  static func emitter(_ plan: Plan, graph: DeviceGraph, model: ModelSpec) -> Emitter {
    Emitter(
      plan: plan,
      graph: graph,
      models: Dictionary(uniqueKeysWithValues: plan.workloads.map { ($0.role, model) }),
      origin: "test"
    )
  }

  @Test func tensorSplitGivesEveryGPUExactlyItsStage() throws {
    let model = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.1-8B")
    let graph = try TopologyLoader().load(["4x-rtx-4090"])
    var generator = SystemRandomNumberGenerator.seeded(7)
    for _ in 0..<200 {
      let layers = Int.random(in: 4...126, using: &generator)
      let gpus = Int.random(in: 2...min(4, layers), using: &generator)
      // Random cut points: each stage at least one layer.
      var cuts = Set<Int>()
      while cuts.count < gpus - 1 { cuts.insert(Int.random(in: 1..<layers, using: &generator)) }
      let bounds = [0] + cuts.sorted() + [layers]
      let stages = (0..<gpus).map { Stage(devices: [$0], firstLayer: bounds[$0], lastLayer: bounds[$0 + 1] - 1) }
      let workload = WorkloadPlan(
        role: "default",
        model: model.name,
        weights: .converted(.gguf(.q4_k_m)),
        strategy: .pipeline,
        tensorParallel: 1,
        pipelineParallel: gpus,
        expertParallel: 1,
        dataParallel: 1,
        stages: stages,
        replicaDevices: [Array(0..<gpus)],
        gpuLayers: nil,
        cpuLayers: nil,
        cpuExpertLayers: nil,
        context: 4096,
        concurrency: 1,
        kvCache: .f16,
        engine: .llamaCpp,
        prediction: Prediction(
          prefillTokensPerSecond: 1,
          decodeTokensPerSecond: 1,
          aggregateDecodeTokensPerSecond: 1,
          timeToFirstTokenSeconds: 1,
          decodeBound: "-"
        )
      )
      let plan = Plan(
        topology: graph.name,
        objective: .throughput,
        verdict: .fits,
        reasons: [],
        fixes: [],
        workloads: [workload],
        devices: [],
        cpuBytes: 0,
        alternatives: [],
        assumptions: []
      )
      let split = try Self.emitter(plan, graph: graph, model: model)
        .tensorSplit(workload, devices: Array(0..<gpus), source: "test")
        .split(separator: ",").map { Double($0) ?? 0 }
      let devices = Self.llamaDevices(layers: layers, gpuLayers: layers + 1, split: split)
      let expected =
        stages.enumerated().flatMap { index, stage in
          [Int?](repeating: index, count: stage.lastLayer - stage.firstLayer + 1)
        } + [gpus - 1]
      #expect(devices == expected, "layers \(layers), stages \(bounds)")
    }
  }

  @Test func aPlanThatDoesNotFitWritesNothing() throws {
    let plan = try PlannerTests.plan("Qwen/Qwen2.5-72B", on: "2x-rtx-pro-6000-blackwell", context: 131_072)
    #expect(plan.verdict == .doesNotFit)
    let model = try ModelLoader(environment: [:]).load("Qwen/Qwen2.5-72B")
    let graph = try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"])
    #expect {
      try Self.emitter(plan, graph: graph, model: model).emit(nil)
    } throws: { error in
      (error as? InputError)?.message.contains("does not fit") == true
        && (error as? InputError)?.fix?.contains("quantize the weights to fp8") == true
    }
  }

  @Test func aFormatForAnotherEngineIsRefusedWithWhatApplies() throws {
    let plan = try PlannerTests.plan("Qwen/Qwen2.5-72B", on: "2x-rtx-pro-6000-blackwell", context: 32_768)
    let model = try ModelLoader(environment: [:]).load("Qwen/Qwen2.5-72B")
    let graph = try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"])
    let emitter = Self.emitter(plan, graph: graph, model: model)
    #expect(emitter.applicableFormats() == [.vllm])
    #expect {
      try emitter.emit([.llamaCpp])
    } throws: { error in
      let error = error as? InputError
      return error?.source == "--emit llama.cpp" && error?.expected?.contains("vllm") == true
        && error?.fix?.contains("--engine llama.cpp") == true
    }
    #expect(try emitter.emit(nil).map(\.name) == ["vllm.sh"])
  }

  @Test func kvCacheTypesAnEngineLacksAreRefused() throws {
    let model = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.1-8B")
    let graph = try TopologyLoader().load(["desktop-rtx-3060-12gb"])
    let llamaFP8 = try PlannerTests.plan(
      "meta-llama/Llama-3.1-8B",
      on: "desktop-rtx-3060-12gb",
      context: 4096,
      kv: .fp8,
      quant: .gguf(.q4_k_m),
      engine: .llamaCpp
    )
    #expect {
      try Self.emitter(llamaFP8, graph: graph, model: model).emit([.llamaCpp])
    } throws: { error in
      (error as? InputError)?.fix == "Plan again with --kv-dtype q8_0, llama.cpp's 8-bit cache"
    }
    let vllmQ8 = try PlannerTests.plan(
      "meta-llama/Llama-3.1-8B",
      on: "desktop-rtx-3060-12gb",
      context: 4096,
      kv: .q8_0
    )
    #expect(throws: InputError.self) { try Self.emitter(vllmQ8, graph: graph, model: model).emit([.vllm]) }
  }

  @Test func enginesThatCannotQuantizeWhileLoadingAskForAQuantizedCheckpoint() throws {
    let plan = try PlannerTests.plan("Qwen/Qwen3-32B", on: "2x-rtx-pro-6000-blackwell", context: 2048, quant: .int4)
    let model = try ModelLoader(environment: [:]).load("Qwen/Qwen3-32B")
    let graph = try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"])
    let script = try #require(try Self.emitter(plan, graph: graph, model: model).emit([.vllm]).first)
    #expect(
      script.contents.contains("MODEL=\"${MODEL:?set MODEL to an int4 (GPTQ, AWQ or compressed-tensors) checkpoint")
    )
    #expect(!script.contents.contains("--quantization"))
    // FP8 vLLM makes itself from a bf16 checkpoint.
    let fp8 = try PlannerTests.plan("Qwen/Qwen3-32B", on: "2x-rtx-pro-6000-blackwell", context: 2048, quant: .fp8)
    let fp8Script = try #require(try Self.emitter(fp8, graph: graph, model: model).emit([.vllm]).first)
    #expect(fp8Script.contents.contains("  --quantization fp8\n"))
    #expect(fp8Script.contents.contains("MODEL=\"${MODEL:-Qwen/Qwen3-32B}\""))
  }

  @Test func hostileHostNamesStayOutOfHostfilesAndShellCode() throws {
    var graph = try TopologyLoader().load(["2x8-h100-ib"])
    let model = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.1-8B")
    var training = try Planner(graph: graph).planTraining(TrainingRequest(model: model, sequence: 2048))
    #expect(training.verdict == .fits && training.workloads[0].training?.nodes == 2)
    graph.hosts[0].name = "node0\nrm -rf / #"
    graph.hosts[1].name = "node1 $(reboot)"
    training.topology = "x"
    let emitter = Self.emitter(training, graph: graph, model: model)
    #expect(throws: InputError.self) { try emitter.emit([.deepspeed]) }
    for file in try emitter.emit([.torchrun, .accelerate]) {
      for line in file.contents.split(separator: "\n") where !line.hasPrefix("#") {
        #expect(!line.hasPrefix("rm "), "\(file.name): \(line)")
        #expect(!line.contains("$(reboot)"), "\(file.name): \(line)")
      }
    }
  }

  @Test func fractionsNeverFallBelowWhatThePlanNeeds() {
    // 0.9 of a card, exactly: not rounded down to 0.899.
    #expect(Emitter.fraction([(budget: 90, needed: 50, capacity: 100)]) == "0.900")
    // The smallest share over the GPUs.
    #expect(
      Emitter.fraction([(budget: 90, needed: 50, capacity: 100), (budget: 80, needed: 10, capacity: 100)]) == "0.800"
    )
    // Rounding down would cut into planned bytes: round the need up instead.
    #expect(Emitter.fraction([(budget: 899_999, needed: 899_990, capacity: 1_000_000)]) == "0.900")
  }

  @Test func jsonStringsEscapeEverythingJSONRequires() throws {
    let text = "quote \" backslash \\ newline \n tab \t bell \u{7} é"
    let json = "[" + Emitter.jsonString(text) + "]"
    let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]
    #expect(parsed == [text])
  }

  @Test func emitListsParse() throws {
    #expect(try EmitFormat.parseList("all") == nil)
    #expect(try EmitFormat.parseList("torchrun, vllm,llama.cpp") == [.vllm, .llamaCpp, .torchrun])
    #expect(try EmitFormat.parseList("device-map,devicemap") == [.deviceMap])
    #expect(throws: InputError.self) { try EmitFormat.parseList("vllm,acelerate") }
    #expect(throws: InputError.self) { try EmitFormat.parseList(",") }
  }
}

/// Device maps of vision-language models name modules as transformers'
/// `*ForConditionalGeneration` class nests them (Scripts/check-emitters.sh loads the
/// golden maps of MedGemma and Qwen3.5 into those classes).
@Suite("device_map of multimodal models")
struct MultimodalDeviceMapTests {
  @Test(arguments: [
    // (stored name, role, module name)
    (
      "model.layers.3.self_attn.q_proj.weight", TensorRole.attention,
      "model.language_model.layers.3.self_attn.q_proj.weight"
    ),
    ("language_model.model.layers.3.mlp.up_proj.weight", .mlp, "model.language_model.layers.3.mlp.up_proj.weight"),
    ("model.language_model.embed_tokens.weight", .embedding, "model.language_model.embed_tokens.weight"),
    ("language_model.lm_head.weight", .head, "lm_head.weight"),
    ("lm_head.weight", .head, "lm_head.weight"),
    (
      "vision_tower.vision_model.embeddings.patch_embedding.weight", .vision,
      "model.vision_tower.vision_model.embeddings.patch_embedding.weight"
    ),
    ("visual.blocks.0.attn.qkv.weight", .vision, "model.visual.blocks.0.attn.qkv.weight"),
    ("model.visual.merger.norm.weight", .vision, "model.visual.merger.norm.weight"),
  ])
  func namesFollowTheConditionalGenerationClass(_ stored: String, _ role: TensorRole, _ module: String) {
    #expect(Emitter.multimodalModuleName(stored, role: role) == module)
  }

  /// A wrapper whose vision tower shardplan does not read (Llama 4's) cannot get a
  /// device_map: the map would leave the tower without a device, and transformers
  /// refuses such a map at load.
  @Test func aTowerNotReadIsRefused() throws {
    let path = Repository.path("Tests/ShardPlanTests/Fixtures/families/llama4_text.config.json")
    let text = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path)), source: path)
    let wrapper = JSONValue.object([
      "model_type": .string("llama4"), "text_config": text,
      "vision_config": .object(["model_type": .string("llama4_vision_model"), "hidden_size": .int(1408)]),
    ])
    let model = try HFConfigReader.read(json: wrapper, text: Data(), name: "llama4-wrapper", source: path)
    #expect(model.multimodalWrapper == "llama4")
    #expect(model.notes.contains { $0.contains("the vision tower is not") })
    let stage = Stage(devices: [0], firstLayer: 0, lastLayer: model.layers - 1)
    let workload = WorkloadPlan(
      role: "default",
      model: model.name,
      weights: .stored("bf16"),
      strategy: .pipeline,
      tensorParallel: 1,
      pipelineParallel: 1,
      expertParallel: 1,
      dataParallel: 1,
      stages: [stage],
      replicaDevices: [[0]],
      gpuLayers: nil,
      cpuLayers: nil,
      cpuExpertLayers: nil,
      context: 4096,
      concurrency: 1,
      kvCache: .bf16,
      engine: .transformers,
      prediction: Prediction(
        prefillTokensPerSecond: 1,
        decodeTokensPerSecond: 1,
        aggregateDecodeTokensPerSecond: 1,
        timeToFirstTokenSeconds: 1,
        decodeBound: "-"
      )
    )
    let graph = try TopologyLoader().load(["8x-h200"])
    let plan = Plan(
      topology: graph.name,
      objective: .throughput,
      verdict: .fits,
      reasons: [],
      fixes: [],
      workloads: [workload],
      devices: [],
      cpuBytes: 0,
      alternatives: [],
      assumptions: []
    )
    #expect {
      try EmitterTests.emitter(plan, graph: graph, model: model).modulePlacement(workload, model)
    } throws: { error in
      (error as? InputError)?.message.contains("does not read its vision tower") == true
    }
  }
}
