import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// GPU capabilities constrain plans and launch files (issue 12, item 7): a card
/// without bf16 (compute capability below 8.0) gets fp16, priced at its fp16 figure.
@Suite("GPU capabilities")
struct GPUCapabilityTests {
  static let yaml = """
    name: 2x-t4
    hosts:
      - name: box
        ram: 64 GiB
        gpus:
          - model: t4
          - model: t4
    """

  @Test func t4PlansInFP16() throws {
    let graph = try TopologyLoader().graph(fromTopologyFile: Self.yaml, source: "2x-t4.yaml")
    #expect(graph.gpus.allSatisfy { !$0.hasBF16 })
    let model = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.2-1B")
    let planner = try Planner(graph: graph)  // priced at the T4's 65 fp16 TFLOPS, not refused
    let plan = planner.plan(InferenceRequest(model: model, weights: .asStored(model), context: 4096))
    let workload = try #require(plan.workloads.first)
    #expect(workload.weights == .converted(.float(.f16)) && workload.kvCache == .f16)
    #expect(plan.assumptions.contains { $0.contains("has no bf16") })
    let files = try Emitter(plan: plan, graph: graph, models: ["default": model], origin: "test").emit([.vllm])
    let script = try #require(files.first).contents
    #expect(script.contains("--dtype float16") && script.contains("--kv-cache-dtype float16"))
    #expect(!script.contains("bfloat16"))
    // Same bytes: fp16 is bf16's size.
    #expect(workload.gpuShares.map(\.weightBytes).reduce(0, +) >= model.weightBytes)
  }

  @Test func validateRefusesBF16OnAT4() throws {
    let folder = try SyntheticFiles.folder("t4-layout")
    defer { try? FileManager.default.removeItem(at: folder) }
    let topology = folder.appendingPathComponent("2x-t4.yaml")
    try Self.yaml.write(to: topology, atomically: true, encoding: .utf8)
    let layout = """
      topology: \(topology.path)
      workloads:
        - role: chat
          model: meta-llama/Llama-3.2-1B
          engine: vllm
          kvCache: bf16
          context: 4096
          stages:
            - devices: [0]
              layers: 0-15
      """
    let report = LayoutValidator(models: ModelLoader(environment: [:]), topologies: TopologyLoader())
      .validate(layout, source: "l.yaml")
    #expect(report.findings.contains { $0.message.contains("has no bf16") })
  }
}

/// fp8 weights as each engine runs them below compute capability 8.9: vLLM and
/// SGLang weight-only through FP8 Marlin (the same bytes), transformers dequantized
/// to bf16 at load (twice the bytes); below 8.0 refused.
@Suite("fp8 by compute capability")
struct FP8CapabilityTests {
  static func graph(_ card: String) throws -> DeviceGraph {
    try TopologyLoader().graph(
      fromTopologyFile:
        "name: one-\(card)\nhosts:\n  - name: box\n    ram: 256 GiB\n    gpus:\n      - model: \(card)\n",
      source: "\(card).yaml"
    )
  }

  @Test func fp8OnAmpereAdaAndTuring() throws {
    let model = try ModelLoader(environment: [:]).load("Qwen/Qwen3-8B")
    let fp8 = model.converted(to: .fp8)
    func plan(_ card: String, _ engine: Engine) throws -> Plan {
      try Planner(graph: try Self.graph(card)).plan(
        InferenceRequest(model: fp8, weights: .converted(.fp8), context: 4096, engine: engine)
      )
    }
    // An A100 (8.0): vLLM keeps the fp8 bytes (W8A16), transformers plans bf16.
    let vllm = try plan("a100-sxm-80gb", .vllm)
    #expect(vllm.workloads[0].weights == .converted(.fp8))
    #expect(vllm.assumptions.contains { $0.contains("FP8 Marlin") })
    let transformers = try plan("a100-sxm-80gb", .transformers)
    #expect(transformers.workloads[0].weights == .converted(.float(.bf16)))
    #expect(transformers.devices[0].weightBytes == model.converted(to: .float(.bf16)).weightBytes)
    #expect(transformers.assumptions.contains { $0.contains("dequantizes fp8 weights to bf16") })
    // An L40S (8.9) and an H100 (9.0) multiply in fp8: no note.
    for card in ["l40s", "h100-sxm"] {
      let native = try plan(card, .transformers)
      #expect(native.workloads[0].weights == .converted(.fp8), "\(card)")
      #expect(!native.assumptions.contains { $0.contains("fp8 matmuls") }, "\(card)")
    }
    // A T4 (7.5): no fp8 kernels in vLLM at all.
    let turing = try plan("t4", .vllm)
    #expect(turing.verdict == .doesNotFit && turing.workloads.isEmpty)
    #expect(turing.reasons.contains { $0.contains("no fp8 kernels") })
  }
}

/// MXFP4 (gpt-oss) by compute capability: transformers dequantizes below 7.5,
/// vLLM and SGLang have no MXFP4 kernels below 8.0.
@Suite("MXFP4 by compute capability")
struct MXFP4CapabilityTests {
  @Test func gptOSSOnTuringAndVolta() throws {
    let model = try ModelLoader(environment: [:]).load("openai/gpt-oss-20b")
    #expect(Planner.hasMXFP4Weights(InferenceRequest(model: model, weights: .asStored(model), context: 4096)))
    func plan(_ card: String, _ engine: Engine) throws -> Plan {
      try Planner(graph: try FP8CapabilityTests.graph(card)).plan(
        InferenceRequest(model: model, weights: .asStored(model), context: 4096, engine: engine)
      )
    }
    let vllmOnT4 = try plan("t4", .vllm)
    #expect(vllmOnT4.verdict == .doesNotFit && vllmOnT4.reasons.contains { $0.contains("no MXFP4 kernels") })
    // A T4 (7.5) keeps MXFP4 under transformers; a V100 (7.0) gets bf16, then fp16
    // (it has no bf16 either), far more bytes.
    let t4 = try plan("t4", .transformers)
    #expect(!t4.assumptions.contains { $0.contains("MXFP4 kernels") })
    let v100 = try plan("v100-32gb", .transformers)
    #expect(v100.assumptions.contains { $0.contains("dequantizes the MXFP4 weights to bf16") })
    #expect(v100.workloads.first?.weights == .converted(.float(.f16)))
    // Dequantized, every parameter takes 2 bytes (scales dropped): 20.9 B × 2.
    let dense = model.dequantizedToBF16()
    #expect(
      dense.weightBytes == model.parameters * 2
        - dense.tensors.filter { $0.storage == .dense(.f32) }
        .reduce(0) { $0 + $1.parameters * 2 - $1.bytes }
    )
    #expect(Double(dense.weightBytes) > 2.5 * Double(model.weightBytes))
  }
}

/// Fixes ranked by what the user gets (issue 12, item 3): Qwen2.5-72B on 2×A100-80GB
/// at 20k, short by under a GiB on vLLM.
@Suite("Fixes ranked by speed")
struct FixRankingTests {
  @Test func qwen72bOnTwoA100s() throws {
    let yaml = """
      name: 2x-a100-80gb
      hosts:
        - name: box
          ram: 512 GiB
          gpus:
            - model: a100-sxm-80gb
            - model: a100-sxm-80gb
      """
    let graph = try TopologyLoader().graph(fromTopologyFile: yaml, source: "2x-a100.yaml")
    let model = try ModelLoader(environment: [:]).load("Qwen/Qwen2.5-72B")
    let plan = try Planner(graph: graph).plan(
      InferenceRequest(model: model, weights: .asStored(model), context: 20_480)
    )
    #expect(plan.verdict == .doesNotFit)
    let kinds = plan.fixes.map { fix -> String in
      switch fix.change {
      case .memoryFraction: "fraction"
      case .offloadLayers(_, let cpu): cpu == 0 ? "engine" : "offload"
      default: "other"
      }
    }
    // vLLM's own knob is offered, llama.cpp whole on the GPUs comes before any
    // offload to RAM, and every fix says the speed it gives.
    #expect(kinds.contains("fraction"))
    let engine = try #require(kinds.firstIndex(of: "engine"))
    let offload = try #require(kinds.firstIndex(of: "offload"))
    #expect(engine < offload)
    #expect(plan.fixes.dropLast().allSatisfy { $0.summary.contains("tokens/s") })
    // Speeds never rise down the list among the vLLM fixes.
    let speeds = plan.fixes.compactMap { fix -> Double? in
      guard case .offloadLayers = fix.change else {
        return Double(fix.summary.components(separatedBy: "about ").last?.split(separator: " ").first ?? "")
      }
      return nil
    }
    #expect(speeds == speeds.sorted(by: >))
  }
}
