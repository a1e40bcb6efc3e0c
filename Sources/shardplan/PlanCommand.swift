import ArgumentParser
import Foundation
import ShardPlan
import ShardPlanHub
import ShardPlanHwloc

extension Strategy: ExpressibleByArgument {}
extension Objective: ExpressibleByArgument {}

struct PlanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Split a model over a topology's GPUs: layout, per-GPU budget, predicted speed and verdict.",
    discussion: """
      Exit status 0 when the plan fits (or is tight), 1 when it does not fit, 2 for bad input.
      This first version plans one model with tensor and pipeline parallelism (with data-parallel
      replicas for throughput) and llama.cpp-style CPU offload.
      """
  )

  @Argument(help: "The model (as for `estimate`).")
  var model: String

  @Option(help: "Topology: local, a bundled name (`shardplan topology --list`) or a file.")
  var topology: String = "local"

  @Option(help: "Strategy: auto, tensor, pipeline or offload.")
  var strategy: Strategy = .auto

  @Option(help: "Objective: throughput, latency, longest-context or fewest-gpus.")
  var objective: Objective = .throughput

  @Option(help: "Weights as fp32, fp16, bf16 or fp8 (default: as stored).")
  var dtype: String?

  @Option(help: "Quantize weights: int8, int4, nf4, mxfp4, fp8, or a llama.cpp type.")
  var quant: String?

  @Option(help: "Tokens per sequence (default: the model's context, at most 8192).")
  var context: Int?

  @Option(help: "Sequences served at once.")
  var concurrency: Int = 1

  @Option(name: .customLong("kv-dtype"), help: "KV cache type (default: f16 for llama.cpp, else bf16).")
  var kvDtype: String = "auto"

  @Option(help: "Engine: vllm, sglang, llama.cpp or transformers.")
  var engine: Engine?

  @Option(help: "Output format: table or json.")
  var format: OutputFormat = .table

  func validate() throws {
    if let dtype, WeightFormat(dtype: dtype) == nil { throw ValidationError("unknown --dtype '\(dtype)'") }
    if let quant, WeightFormat(quant: quant) == nil { throw ValidationError("unknown --quant '\(quant)'") }
    if kvDtype != "auto" && KVCacheType(name: kvDtype) == nil {
      throw ValidationError("unknown --kv-dtype '\(kvDtype)'")
    }
    guard concurrency >= 1, concurrency <= 100_000 else {
      throw ValidationError("--concurrency must be from 1 to 100000")
    }
    if let context, context < 1 || context > 100_000_000 {
      throw ValidationError("--context must be from 1 to 100000000")
    }
    if strategy == .expert || strategy == .role {
      throw ValidationError(
        "--strategy \(strategy.rawValue) is not implemented yet; use auto, tensor, pipeline or offload"
      )
    }
    if format == .yaml || format == .dot { throw ValidationError("--format for plan is table or json") }
  }

  func run() throws {
    let graph: DeviceGraph
    var spec: ModelSpec
    do {
      graph = try TopologyLoader(hwloc: HwlocProvider()).load([topology])
      spec = try ModelLoader(hub: HubClient.fromEnvironment()).load(model)
    } catch {
      failWithInputError(error)
    }
    var label = spec.quantization ?? "as stored"
    var converted = false
    if let dtype, let chosen = WeightFormat(dtype: dtype) {
      spec = spec.converted(to: chosen)
      label = chosen.label
      converted = true
    }
    if let quant, let chosen = WeightFormat(quant: quant) {
      spec = spec.converted(to: chosen)
      label = chosen.label
      converted = true
    }
    if !converted, spec.quantization == nil {
      let types = Set(spec.tensors.map(\.storage.description))
      label = types.count == 1 ? (types.first ?? "?").lowercased() : "mixed"
    }
    let isGGUF = spec.tensorSource == "gguf" || (quant.flatMap(WeightFormat.init(quant:))?.isGGUF ?? false)
    let engine = self.engine ?? (isGGUF ? .llamaCpp : .vllm)
    let request = InferenceRequest(
      model: spec,
      weightFormat: label,
      context: context ?? min(spec.maxContext, 8192),
      concurrency: concurrency,
      kvCache: KVCacheType(name: kvDtype) ?? (engine == .llamaCpp ? .f16 : .bf16),
      engine: engine
    )
    let plan = Planner(graph: graph, strategy: strategy, objective: objective).plan(request)
    print(format == .json ? try plan.jsonText() : plan.tableText(), terminator: "")
    if plan.verdict == .doesNotFit { throw ExitCode(1) }
  }
}
