// An orchestration tool's use of the ShardPlan library: plan a role split on a
// workstation, read each GPU's budget, and decide what to launch — shrinking the
// reasoning model's context until every card keeps 8 GiB free.
import Foundation
import ShardPlan

let loader = ModelLoader(environment: [:])
let graph = try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"])
let reserve: Int64 = 8 << 30

func gib(_ bytes: Int64) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }

func request(_ role: String, _ model: String, context: Int, gpus: [Int]) throws -> InferenceRequest {
  let spec = try loader.load(model)
  return InferenceRequest(
    model: spec,
    weights: .asStored(spec),
    role: role,
    context: context,
    concurrency: 4,
    kvCache: .fp8,
    engine: .vllm,
    pinnedGPUs: gpus
  )
}

var context = 131_072
while context >= 8192 {
  let plan = try Planner(graph: graph).planRoles([
    try request("reasoning", "Qwen/Qwen3-32B", context: context, gpus: [0]),
    try request("coder", "Qwen/Qwen2.5-7B-Instruct", context: 32_768, gpus: [1]),
  ])
  let tightest = plan.devices.min { $0.freeBytes < $1.freeBytes }
  let free = tightest?.freeBytes ?? 0
  print(
    "reasoning context \(context): verdict \(plan.verdict.rawValue), tightest GPU \(tightest?.index ?? -1) keeps \(gib(free))"
  )
  if plan.verdict != .doesNotFit && free >= reserve {
    // The launch command of each role, as the vLLM scripts shardplan writes would run it.
    let models = Dictionary(uniqueKeysWithValues: try plan.workloads.map { ($0.role, try loader.load($0.model)) })
    let scripts = try Emitter(plan: plan, graph: graph, models: models, origin: "OrchestratorExample").emit([.vllm])
    for workload in plan.workloads {
      let gpus = workload.stages.flatMap(\.devices).map(String.init).joined(separator: ",")
      print(
        "launch \(workload.role): \(workload.model) on GPU \(gpus), \(workload.context) tokens, about \(Int(workload.prediction.aggregateDecodeTokensPerSecond)) tokens/s"
      )
      let script = scripts.first { $0.name == "vllm.\(workload.role).sh" }?.contents ?? ""
      let share = script.split(separator: "\n").first { $0.hasPrefix("  --gpu-memory-utilization") }
      print("  vllm.\(workload.role).sh:\(share.map { " " + $0.trimmingCharacters(in: .whitespaces) } ?? " (none)")")
    }
    exit(0)
  }
  context /= 2
}
print("no context leaves \(gib(reserve)) free on every GPU")
exit(1)
