import Foundation
import Synchronization
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// The one pricing function: plans and validated layouts price alike, every
/// budget adds up, fixes hold when applied, and a new engine is one profile.
@Suite("Pricing core", .serialized)
struct PricingCoreTests {
  static let loader = ModelLoader(environment: [:])
  static let topologies = TopologyLoader()
  static let validator = LayoutValidator(models: loader, topologies: topologies)

  /// Plans over bundled models, topologies, engines, contexts and sequence
  /// counts: 6 × 5 × 4 × 2 × 2 = 480 requests.
  static let generated: Result<[(String, Plan)], any Error> = Result { try generatedPlans() }

  static func generatedPlans() throws -> [(String, Plan)] {
    let models = [
      "meta-llama/Llama-3.2-1B", "Qwen/Qwen3-8B", "mistralai/Mistral-7B-v0.1", "Qwen/Qwen3-30B-A3B",
      "Qwen/Qwen2.5-72B", "openai-community/gpt2",
    ]
    let machines = ["desktop-rtx-3060-12gb", "2x-rtx-pro-6000-blackwell", "4x-rtx-4090", "8x-h100-sxm", "2x8-h100-ib"]
    let pairs = models.flatMap { model in machines.map { (model, $0) } }
    let results = Mutex<[Int: Result<[(String, Plan)], any Error>]>([:])
    // Two at a time (the machine's cores); each pair's plans in a fixed order.
    DispatchQueue.concurrentPerform(iterations: pairs.count) { index in
      let (id, machine) = pairs[index]
      let outcome = Result { () throws -> [(String, Plan)] in
        let model = try loader.load(id)
        let planner = try Planner(graph: try topologies.load([machine]))
        var plans: [(String, Plan)] = []
        for engine in Engine.allCases {
          for context in [4096, 32_768] {
            for concurrency in [1, 8] {
              let request = InferenceRequest(
                model: model,
                weights: .asStored(model),
                context: min(context, model.maxContext),
                concurrency: concurrency,
                kvCache: EngineProfile.profile(engine).defaultKVCache,
                engine: engine
              )
              plans.append(("\(id) on \(machine), \(engine), \(context) × \(concurrency)", planner.plan(request)))
            }
          }
        }
        return plans
      }
      results.withLock { $0[index] = outcome }
    }
    return try results.withLock { all in try pairs.indices.flatMap { try all[$0]?.get() ?? [] } }
  }

  @Test func everyBudgetAddsUpUnderTheOneRule() throws {
    let plans = try Self.generated.get()
    #expect(plans.count == 480)
    for (name, plan) in plans {
      for device in plan.devices {
        let parts =
          device.weightBytes + device.kvCacheBytes + device.activationBytes + device.overheadBytes
          + device.gradientBytes + device.optimizerBytes
        #expect(device.usedBytes == parts, "\(name): GPU \(device.index) used \(device.usedBytes) ≠ \(parts)")
        #expect(device.freeBytes == device.usableBytes - device.usedBytes, "\(name): GPU \(device.index) free")
        let rule: Verdict =
          device.freeBytes < 0
          ? .doesNotFit : (Double(device.freeBytes) < 0.05 * Double(device.capacityBytes) ? .tight : .fits)
        #expect(device.verdict == rule, "\(name): GPU \(device.index) is \(device.verdict), the rule says \(rule)")
        // The bar and the columns say the same: 40 characters over the card, the
        // budget's end where Budget (plus what others hold) falls on it, and free
        // dots only when Free is positive.
        let bar = Plan.bar(device)
        #expect(bar.count == 40, "\(name): bar \(bar)")
        let scale = 40 / Double(device.capacityBytes)
        let end = min(40, Int((Double(device.otherBytes + device.usableBytes) * scale).rounded()))
        if end < 40, device.freeBytes >= 0, let outside = bar.firstIndex(where: { $0 == "|" || $0 == "-" }) {
          #expect(bar.distance(from: bar.startIndex, to: outside) <= end, "\(name): budget mark in \(bar)")
        }
        if device.freeBytes <= 0 {
          #expect(!bar.contains("."), "\(name): free dots in \(bar) with \(device.freeBytes)")
        }
      }
      for workload in plan.workloads {
        // The sequences asked for bound the throughput: never more than each decoding
        // at the per-sequence rate.
        let p = workload.prediction
        #expect(
          p.aggregateDecodeTokensPerSecond <= p.decodeTokensPerSecond * Double(workload.concurrency) * (1 + 1e-9),
          "\(name): aggregate \(p.aggregateDecodeTokensPerSecond) above \(workload.concurrency) × \(p.decodeTokensPerSecond)"
        )
        // No plan asks an engine that checks it for more context than the model allows.
        let limit = try Self.loader.load(workload.model).maxContext
        #expect(
          workload.context <= limit || !EngineProfile.profile(workload.engine).refusesContextBeyondLimit,
          "\(name): context \(workload.context) beyond \(limit)"
        )
        // The plan's verdict is the worst of its GPUs' and its CPU RAM's, the rows it prints.
        let used = Set(plan.workloads.flatMap(\.gpuShares).map(\.gpu))
        let worst = plan.devices.filter { used.contains($0.index) }.map(\.verdict).max()
        // One exception, said in the plan's reason: an offload layout with no decoder
        // layer left on its GPU is not a GPU plan, whatever the rows say.
        let rows = workload.gpuLayers == 0 ? Verdict.doesNotFit : max(worst ?? .fits, plan.cpuVerdict ?? .fits)
        #expect(
          plan.verdict == rows,
          "\(name): plan \(plan.verdict), worst GPU \(String(describing: worst)), CPU RAM \(String(describing: plan.cpuVerdict))"
        )
        for share in workload.gpuShares {
          let device = plan.devices.first { $0.index == share.gpu }
          #expect(device?.usedBytes == share.usedBytes, "\(name): GPU \(share.gpu) share")
        }
      }
    }
  }

  /// The done-when of the pricing core: a layout priced through `plan` and
  /// through `validate` of the plan's own layout file gets identical budgets.
  /// Over every generated plan, the three renderings agree: the coloured table
  /// is the plain one plus escape codes only, and the HTML page has one bar per
  /// GPU budget, each part's width in proportion to its bytes over the card.
  @Test func renderingsAgreeWithThePlan() throws {
    let escape = try Regex("\u{1B}\\[[0-9;]*m")
    for (name, plan) in try Self.generated.get() {
      let plain = plan.tableText()
      let colored = plan.tableText(colors: true)
      #expect(colored.replacing(escape, with: "") == plain, "\(name)")
      if plan.devices.contains(where: { Plan.bar($0).contains("W") }) {
        #expect(colored.contains("\u{1B}[1;38;2;78;121;167mW"), "\(name): no coloured weights")
      }
      let graph = try Self.topologies.load([plan.topology])
      let html = HTMLReport.plan(plan, graph: graph, files: [], version: "test")
      #expect(html.components(separatedBy: "class=\"memory-bar ").count - 1 == plan.devices.count, "\(name)")
      // The weights segment of GPU 0: 600 px of bar over max(card, use).
      if let device = plan.devices.first, device.weightBytes > 0 {
        let total = Double(max(device.capacityBytes, HTMLReport.parts(device).reduce(0, +)))
        let width = HTMLReport.fmt(Double(device.weightBytes) * 600 / total)
        #expect(
          html.contains(
            "class=\"segment segment-weights\" x=\"\(HTMLReport.fmt(240 + Double(device.otherBytes) * 600 / total))\" y=\"6\" width=\"\(width)\""
          ),
          "\(name)"
        )
      }
    }
  }

  @Test func planAndValidatePriceEveryLayoutAlike() throws {
    // Every second plan that fits (the order interleaves engines, contexts and
    // sequence counts, so each kind of layout is among them): about 200 layouts.
    let fitting = try Self.generated.get().filter { $0.1.verdict != .doesNotFit }.enumerated()
      .filter { $0.offset % 2 == 0 }.map(\.element)
    #expect(fitting.count >= 200)
    let reports = Mutex<[Int: LayoutValidator.Report]>([:])
    DispatchQueue.concurrentPerform(iterations: fitting.count) { index in
      let (name, plan) = fitting[index]
      let report = Self.validator.validate(plan.layoutYAML(), source: "\(name).yaml")
      reports.withLock { $0[index] = report }
    }
    for (index, (name, plan)) in fitting.enumerated() {
      let report = try #require(reports.withLock { $0[index] })
      #expect(report.findings.isEmpty, "\(name): \(report.findings)")
      let validated = try #require(report.plan)
      let used = plan.devices.filter { device in
        plan.workloads.contains { $0.gpuShares.contains { $0.gpu == device.index } }
      }
      #expect(validated.devices == used, "\(name): budgets differ")
      #expect(validated.workloads.map(\.gpuShares) == plan.workloads.map(\.gpuShares), "\(name): shares differ")
      #expect(validated.workloads.map(\.prediction) == plan.workloads.map(\.prediction), "\(name): predictions differ")
      #expect(validated.verdict == plan.verdict, "\(name): \(validated.verdict) vs \(plan.verdict)")
    }
  }

  @Test func publicPriceMatchesThePlan() throws {
    let model = try Self.loader.load("Qwen/Qwen2.5-72B")
    let planner = try Planner(graph: try Self.topologies.load(["2x-rtx-pro-6000-blackwell"]))
    let request = InferenceRequest(model: model, weights: .asStored(model), context: 32_768)
    let plan = planner.plan(request)
    let workload = try #require(plan.workloads.first)
    let placement = Placement.layers(
      stages: workload.stages.map(\.devices),
      layers: workload.stages.map { $0.firstLayer..<($0.lastLayer + 1) },
      replicas: []
    )
    let priced = try #require(planner.price(placement, for: .inference(request)))
    #expect(priced.workload == workload)
    #expect(priced.verdict == plan.verdict)
    // A placement that does not match the request is not priced.
    #expect(planner.price(.training(gpus: [0]), for: .inference(request)) == nil)
    #expect(
      planner.price(.layers(stages: [[0], [7]], layers: [0..<40, 40..<80], replicas: []), for: .inference(request))
        == nil
    )
  }

  /// Every fix of a plan that does not fit, applied to the request and planned
  /// again, gives a plan that fits (more GPUs is the one fix a request cannot take).
  @Test func everyFixHoldsWhenApplied() throws {
    let cases: [(String, String, Int, Int)] = [
      ("Qwen/Qwen2.5-72B", "2x-rtx-pro-6000-blackwell", 131_072, 1),
      ("meta-llama/Llama-3.1-70B", "4x-rtx-4090", 8192, 1),
      ("Qwen/Qwen3-32B", "desktop-rtx-3060-12gb", 4096, 1),
      ("Qwen/Qwen3-8B", "desktop-rtx-3060-12gb", 32_768, 16),
    ]
    var applied = 0
    for (id, machine, context, concurrency) in cases {
      let model = try Self.loader.load(id)
      let planner = try Planner(graph: try Self.topologies.load([machine]))
      let request = InferenceRequest(
        model: model,
        weights: .asStored(model),
        context: context,
        concurrency: concurrency
      )
      let plan = planner.plan(request)
      #expect(plan.verdict == .doesNotFit, "\(id) on \(machine)")
      #expect(!plan.fixes.isEmpty)
      for fix in plan.fixes {
        guard let changed = fix.apply(to: request) else {
          #expect(
            {
              switch fix.change {
              case .gpus, .addGPUs: true
              default: false
              }
            }(),
            "\(fix) does not apply to a serving request"
          )
          continue
        }
        #expect(planner.plan(changed).verdict != .doesNotFit, "\(id) on \(machine): \(fix) does not make it fit")
        applied += 1
      }
      // Fixes survive JSON.
      let data = try JSONEncoder().encode(plan.fixes)
      #expect(try JSONDecoder().decode([Fix].self, from: data) == plan.fixes)
    }
    #expect(applied >= 6)
  }

  /// A new engine is one profile: the planner takes its memory fraction,
  /// overheads and splitting rules from it, and plans carry its name.
  @Test func aToyEngineIsOneProfile() throws {
    let toy = EngineProfile(
      engine: Engine(name: "toy"),
      runtimeBytes: 1 << 30,
      cudaGraphBytes: 0,
      kvBlockSize: 64,
      batchTokens: 0,
      maxSequences: 1,
      memoryFraction: 0.5,
      sources: ["a test engine"],
      activationRule: .wholePrefill,
      splitsTensors: false,
      expertParallel: false,
      kvCacheSpellings: [.bf16: "bf16"]
    )
    let model = try Self.loader.load("Qwen/Qwen3-8B")
    let graph = try Self.topologies.load(["2x-rtx-pro-6000-blackwell"])
    let request = InferenceRequest(model: model, weights: .asStored(model), context: 8192).serving(with: toy)
    #expect(request.engine == Engine(name: "toy"))
    #expect(Engine(rawValue: "toy") == nil)  // not built in
    let plan = try Planner(graph: graph).plan(request)
    let workload = try #require(plan.workloads.first)
    #expect(workload.engine.rawValue == "toy")
    #expect(workload.tensorParallel == 1)  // it does not split tensors
    for device in plan.devices where workload.gpuShares.contains(where: { $0.gpu == device.index }) {
      #expect(device.usableBytes == Int64(Double(device.capacityBytes) * 0.5))
      #expect(device.overheadBytes == 1 << 30)
    }
    // KV cache rounded to its 64-token blocks: 8192 is whole blocks, so one
    // replica holds exactly the model's cache for one sequence.
    let kv = KVCacheModel(attention: model.attention, type: .bf16).bytes(context: 8192, sequences: 1)
    let replica = try #require(workload.replicaDevices.first)
    #expect(plan.devices.filter { replica.contains($0.index) }.map(\.kvCacheBytes).reduce(0, +) == kv)
    let json = String(decoding: try JSONEncoder().encode(workload), as: UTF8.self)
    #expect(json.contains(#""engine":"toy""#))
  }

  /// A card with no known bandwidth is refused with a fix, not priced at a made-up rate.
  @Test func aCardTheCatalogCannotDescribeIsRefused() throws {
    let yaml = """
      name: mystery
      hosts:
        - name: box
          gpus:
            - memory: 24 GiB
      """
    let graph = try Self.topologies.graph(fromTopologyFile: yaml, source: "mystery.yaml")
    #expect {
      try Planner(graph: graph)
    } throws: { error in
      let text = "\(error)"
      return text.contains("HBM bandwidth") && text.contains("bf16TFLOPS") && text.contains("--gpu")
    }
  }

  /// train-time and plan --train share one step-time formula: with gradient
  /// checkpointing a token costs 8 FLOPs per active parameter, not 6.
  @Test func trainTimeCountsCheckpointingsSecondForward() throws {
    let spec = try Self.loader.load("meta-llama/Llama-3.1-8B")
    let graph = try Self.topologies.load(["8x-h100-sxm"])
    let estimate = try TrainingTime.estimate(model: spec, tokens: 1_000_000_000, graph: graph, sequence: 32_768)
    #expect(estimate.setup.contains("gradient checkpointing"))
    #expect(estimate.flopsPerParameterPerToken == 8)
    let expected = 8 * Double(spec.activeParameters) * 1e9 / (8 * 989e12 * 0.4)
    #expect(abs(estimate.seconds - expected) / expected < 1e-9)
    let plan = try Planner(graph: graph).planTraining(
      TrainingRequest(model: spec, sequence: 32_768)
    )
    #expect(plan.workloads.first?.training?.stepSeconds == estimate.stepSeconds)
  }

  /// CPU offload is priced in the step, by hand: Llama-3.1-8B full training on two
  /// 3090s needs ZeRO-3 with offload; the step adds the gradient partitions out in
  /// fp32 and the bf16 parameters back (6 bytes per parameter over each GPU's PCIe),
  /// the CPU Adam pass (30 bytes per parameter at 70% of RAM bandwidth) and the
  /// weights fetched from RAM per pass. The setup chosen is the fastest that fits.
  @Test func offloadIsPricedAndTheFastestSetupWins() throws {
    let spec = try Self.loader.load("meta-llama/Llama-3.1-8B")
    let graph = try Self.topologies.load(["2x-rtx-3090-nvlink"])
    let planner = try Planner(graph: graph)
    let request = TrainingRequest(model: spec, sequence: 2048)
    let plan = planner.planTraining(request)
    let training = try #require(plan.workloads.first?.training)
    #expect(training.zeroStage == 3 && training.offload == .cpu)
    let p = Double(spec.parameters)
    let pcie = Double(min(planner.rates[0].pcieBytesPerSecond, planner.rates[1].pcieBytesPerSecond))
    let ram = Double(graph.hosts[0].ramBandwidthBytesPerSecond ?? CostModel.assumedRAMBandwidthBytesPerSecond)
    let passes = Double(training.gradientCheckpointing ? 3 : 2)
    let weights = Double(spec.converted(to: .float(.bf16)).weightBytes)
    let expected = p / 2 * 6 / pcie + p * 30 / (ram * 0.7) + passes * weights / 2 / pcie
    #expect(abs(training.offloadSeconds - expected) / expected < 1e-9, "\(training.offloadSeconds) vs \(expected)")
    #expect(training.stepSeconds > training.offloadSeconds)
    // No setup that fits is faster than the chosen one at the same verdict.
    for setup in planner.setups(request) {
      var attempt = request
      attempt.setup = setup
      guard let other = planner.evaluateTraining(attempt, gpus: [0, 1]), other.verdict != .doesNotFit else { continue }
      #expect(other.verdict >= plan.verdict, "\(planner.describe(other.workload)) has a better verdict")
      if other.verdict == plan.verdict {
        #expect((other.workload.training?.stepSeconds ?? 0) >= training.stepSeconds - 1e-9)
      }
    }
  }

  /// Decode and prefill of a layout from first principles (the roofline of
  /// CostModel), for one H100 SXM and for a tensor-parallel pair.
  @Test func predictionsFromFirstPrinciples() throws {
    let model = try Self.loader.load("meta-llama/Llama-3.1-8B")
    let graph = try Self.topologies.load(["8x-h100-sxm"])
    let planner = try Planner(graph: graph)
    let request = InferenceRequest(model: model, weights: .asStored(model), context: 4096)
    let bandwidth = 3.35e12 * 0.8  // H100 SXM HBM3 at 80%
    let peak = 989e12 * 0.6  // dense bf16 at 60%
    // KV: 32 layers × 8 KV heads × 128 × (key + value) × 2 bytes × 4096 tokens.
    let kv = 32.0 * 8 * 128 * 2 * 2 * 4096
    // Prefill FLOPs: 2 per matrix parameter (the untied input embedding is a
    // lookup) plus causal attention, 2 × 2 × tokens/2 × 4096 wide per layer.
    let embedding = Double(128_256 * 4096)
    let flops = 4096 * (2 * (Double(model.activeParameters) - embedding) + 2 * 4096 * 4096 * 32)

    let one = try #require(
      planner.price(.layers(stages: [[0]], layers: [0..<32], replicas: []), for: .inference(request))
    )
    let decode = (Double(model.weightBytes) + kv) / bandwidth + 32 * 3e-6
    #expect(abs(one.workload.prediction.decodeTokensPerSecond - 1 / decode) * decode < 1e-9)
    #expect(abs(one.workload.prediction.timeToFirstTokenSeconds - flops / peak) / (flops / peak) < 1e-9)
    #expect(one.workload.prediction.decodeBound == "HBM bandwidth")

    // TP 2 over NVLink: each GPU reads half (rounded up per tensor group) and
    // all-reduces the token's 4096 bf16 hidden values twice per layer:
    // 2 × (2 − 1) / 2 × 8192 bytes over the link, plus 10 µs.
    let two = try #require(
      planner.price(.layers(stages: [[0, 1]], layers: [0..<32], replicas: []), for: .inference(request))
    )
    let link = Double(try #require(graph.link(0, 1)?.bandwidthBytesPerSecond))
    let allReduces = 64 * (8192 / link + 10e-6)
    let decodeTP = (Double(model.weightBytes) + kv) / 2 / bandwidth + 32 * 3e-6 + allReduces
    #expect(abs(two.workload.prediction.decodeTokensPerSecond - 1 / decodeTP) * decodeTP < 1e-6)
    let prefillTP = flops / 2 / peak + 64 * (4096 * 8192 / link + 10e-6)
    #expect(abs(two.workload.prediction.timeToFirstTokenSeconds - prefillTP) / prefillTP < 1e-9)
    // Four sequences at once: each step advances all four.
    var four = request
    four.concurrency = 4
    let batch = try #require(
      planner.price(.layers(stages: [[0]], layers: [0..<32], replicas: []), for: .inference(four))
    )
    let decodeFour = (Double(model.weightBytes) + 4 * kv) / bandwidth + 32 * 3e-6
    #expect(abs(batch.workload.prediction.aggregateDecodeTokensPerSecond - 4 / decodeFour) * decodeFour < 1e-8)
  }
}

/// The generated plans' launch files against the checks the engines make at
/// start (vLLM's and SGLang's): the context within the model's limit, the
/// tensor-parallel degree dividing the attention heads and fitting the KV heads,
/// the experts dividing over the expert-parallel group, the pooling runner for
/// encoders, and a memory share no larger than the plan's.
@Suite("Launch files of the generated plans")
struct GeneratedLaunchFileTests {
  /// `--flag value` pairs of a script's argument lines.
  static func flags(_ script: String) -> [String: String] {
    var found: [String: String] = [:]
    for line in script.split(separator: "\n") {
      let parts = line.trimmingCharacters(in: .whitespaces).split(separator: " ").map(String.init)
      guard let flag = parts.first, flag.hasPrefix("--") else { continue }
      found[flag] = parts.count > 1 ? parts[1] : ""
    }
    return found
  }

  @Test func everyServingScriptPassesTheEnginesStartupChecks() throws {
    let plans = try PricingCoreTests.generated.get().filter { $0.1.verdict != .doesNotFit }
    var checked = 0
    var models: [String: ModelSpec] = [:]
    var graphs: [String: DeviceGraph] = [:]
    for (name, plan) in plans {
      guard let workload = plan.workloads.first, [.vllm, .sglang].contains(workload.engine) else { continue }
      let model = try models[workload.model] ?? PricingCoreTests.loader.load(workload.model)
      models[workload.model] = model
      let graph = try graphs[plan.topology] ?? PricingCoreTests.topologies.load([plan.topology])
      graphs[plan.topology] = graph
      let format: EmitFormat = workload.engine == .vllm ? .vllm : .sglang
      let files = try Emitter(plan: plan, graph: graph, models: ["default": model], origin: "test").emit([format])
      let script = try #require(files.first { $0.name.hasSuffix(".sh") }).contents
      let flags = Self.flags(script)
      let heads = model.attention.heads
      let kvHeads = model.attention.kvHeads
      checked += 1
      if format == .vllm {
        let tp = Int(flags["--tensor-parallel-size"] ?? "") ?? -1
        #expect(Int(flags["--max-model-len"] ?? "") ?? .max <= model.maxContext, "\(name): max-model-len")
        #expect(tp >= 1 && heads % tp == 0, "\(name): TP \(tp) does not divide \(heads) heads")
        #expect(kvHeads % tp == 0 || tp % kvHeads == 0, "\(name): TP \(tp) and \(kvHeads) KV heads")
        #expect(Int(flags["--pipeline-parallel-size"] ?? "") ?? .max <= model.layers, "\(name): PP")
        if flags["--enable-expert-parallel"] != nil, let moe = model.moe {
          let dp = Int(flags["--data-parallel-size"] ?? "") ?? 1
          #expect(moe.routedExperts % (tp * dp) == 0, "\(name): \(moe.routedExperts) experts over EP \(tp * dp)")
        }
        #expect((flags["--runner"] == "pooling") == model.isEncoder, "\(name): runner")
        let share = Double(flags["--gpu-memory-utilization"] ?? "") ?? 2
        #expect(share > 0 && share <= (workload.memoryFraction ?? 0.9) + 1e-9, "\(name): utilization \(share)")
        #expect((Int(flags["--max-num-seqs"] ?? "") ?? 0) >= 1, "\(name): max-num-seqs")
      } else {
        let tp = Int(flags["--tp-size"] ?? "") ?? -1
        #expect(Int(flags["--context-length"] ?? "") ?? .max <= model.maxContext, "\(name): context-length")
        if workload.strategy != .expert { #expect(tp >= 1 && heads % tp == 0, "\(name): TP \(tp), \(heads) heads") }
        #expect((flags["--is-embedding"] != nil) == model.isEncoder, "\(name): is-embedding")
        let share = Double(flags["--mem-fraction-static"] ?? "") ?? 2
        #expect(share > 0 && share <= (workload.memoryFraction ?? 0.88) + 1e-9, "\(name): mem fraction \(share)")
      }
    }
    // Half the engines of the 480 requests are vLLM or SGLang; most of them fit.
    #expect(checked >= 150, "only \(checked) scripts checked")
  }
}

/// MoE decode reads only the experts the step's tokens visit, on every path
/// (issue: Qwen3-30B-A3B predicted at a dense model's speed outside expert parallelism).
@Suite("MoE decode reads the visited experts")
struct MoEDecodeTests {
  @Test func oneTokenReadsKOfEExperts() throws {
    let model = try PricingCoreTests.loader.load("Qwen/Qwen3-30B-A3B").converted(to: .gguf(.q4_0))
    let graph = try PricingCoreTests.topologies.load(["2x-rtx-3090-nvlink"])
    let planner = try Planner(graph: graph)
    let request = InferenceRequest(
      model: model,
      weights: .converted(.gguf(.q4_0)),
      context: 4096,
      kvCache: .f16,
      engine: .llamaCpp
    )
    let one = try #require(
      planner.price(.layers(stages: [[0]], layers: [0..<48], replicas: []), for: .inference(request))
    )
    // By hand: every tensor but the routed experts, plus 8 of the 128 experts of
    // each layer (one token), plus the KV cache of 4096 tokens (48 layers × 4 KV
    // heads × 256 values × 2 bytes, in 256-cell padding: 4096 already is).
    let experts = model.tensors.filter { $0.role == .expert }.reduce(Int64(0)) { $0 + $1.bytes }
    let rest = model.weightBytes - experts
    let kv = Int64(48 * 4 * 256 * 2 * 4096)
    let bytes = Double(rest) + Double(experts) * 8 / 128 + Double(kv)
    let bandwidth = Double(try #require(graph.gpus[0].memoryBandwidthBytesPerSecond)) * 0.8
    let seconds = bytes / bandwidth + 48 * 3e-6
    // llama.cpp's MoE kernels at their measured share of that (llama.cpp issue 13652).
    let moe = CostModel.llamaCppMoE.decode
    let rate = one.workload.prediction.decodeTokensPerSecond
    #expect(abs(rate - moe / seconds) * seconds < 1e-3, "\(rate) vs \(moe / seconds)")
    // Not the dense reading of every expert: faster than that even at the kernels' share.
    let dense = Double(model.weightBytes + kv) / bandwidth + 48 * 3e-6
    #expect(rate > 2 / dense)
    // Sixteen sequences visit more experts per step: 1 − (1 − 8/128)^16 of them.
    var sixteen = request
    sixteen.concurrency = 16
    let many = try #require(
      planner.price(.layers(stages: [[0]], layers: [0..<48], replicas: []), for: .inference(sixteen))
    )
    let touched: Double = 1 - pow(1 - 8.0 / 128, 16.0)
    let bytes16 = Double(rest) + Double(experts) * touched + 16 * Double(kv)
    let seconds16 = bytes16 / bandwidth + 48 * 3e-6
    #expect(abs(many.workload.prediction.decodeTokensPerSecond - moe / seconds16) * seconds16 < 1e-3)
  }

  /// llama.cpp issue 13652's A10 (24 GB, 600 GB/s): the dense control Qwen3-32B Q4_0
  /// measured 23.2 tokens/s and the bytes model alone gives it within 10%; the MoE
  /// Qwen3-30B-A3B Q4_0 measured 103.5 and 1328 (pp512), which its kernel factor is
  /// taken from, so it lands on them.
  @Test func theA10MeasurementsOfLlamaCppIssue13652() throws {
    let graph = try TopologyLoader().graph(
      fromTopologyFile: """
        name: a10
        hosts:
          - name: box
            ram: 128 GiB
            gpus:
              - {name: A10, memory: 24 GiB, memoryBandwidth: 600 GB/s, bf16TFLOPS: 125, pcieGeneration: 4}
        """,
      source: "a10.yaml"
    )
    func predicted(_ id: String) throws -> Prediction {
      let model = try PricingCoreTests.loader.load(id).converted(to: .gguf(.q4_0))
      let plan = try Planner(graph: graph).plan(
        InferenceRequest(
          model: model,
          weights: .converted(.gguf(.q4_0)),
          context: 4096,
          kvCache: .f16,
          engine: .llamaCpp
        )
      )
      return try #require(plan.workloads.first).prediction
    }
    let dense = try predicted("Qwen/Qwen3-32B")
    #expect(abs(dense.decodeTokensPerSecond - 23.2) / 23.2 < 0.1, "dense \(dense.decodeTokensPerSecond)")
    let moe = try predicted("Qwen/Qwen3-30B-A3B")
    #expect(abs(moe.decodeTokensPerSecond - 103.5) / 103.5 < 0.02, "MoE decode \(moe.decodeTokensPerSecond)")
    #expect(abs(moe.prefillTokensPerSecond - 1328) / 1328 < 0.02, "MoE prefill \(moe.prefillTokensPerSecond)")
  }
}
