// Planner speed, measured in release mode: `swift run -c release planner-benchmarks`.
// Each case runs 3 warm-up iterations, then reports the median, minimum and
// maximum wall time of the measured iterations. Loading models and topologies
// is setup and is not timed.
import Foundation
import ShardPlan

func measure(_ name: String, iterations: Int = 30, _ body: () -> Void) {
  for _ in 0..<3 { body() }
  var samples: [Double] = []
  let clock = ContinuousClock()
  for _ in 0..<iterations {
    let elapsed = clock.measure(body)
    samples.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
  }
  samples.sort()
  let median = samples[samples.count / 2]
  print(
    "\(name): median \(String(format: "%.3f", median)) ms, min \(String(format: "%.3f", samples[0])) ms, max \(String(format: "%.3f", samples[samples.count - 1])) ms (\(iterations) runs)"
  )
}

let loader = ModelLoader(environment: [:])
let topologies = TopologyLoader()
let llama405 = """
  {"model_type":"llama","hidden_size":16384,"intermediate_size":53248,"num_attention_heads":128,"num_key_value_heads":8,
   "num_hidden_layers":126,"vocab_size":128256,"max_position_embeddings":131072,"torch_dtype":"bfloat16"}
  """

do {
  let deepseek = try loader.load("deepseek-ai/DeepSeek-V3")
  let cluster4 = try topologies.load(["4x8-h100-ib"])
  let planner4 = try Planner(graph: cluster4)
  measure("auto search, DeepSeek-V3 on 4 × 8 H100") {
    _ = planner4.plan(
      InferenceRequest(model: deepseek, weights: .asStored(deepseek), context: 32_768, concurrency: 64, kvCache: .bf16)
    )
  }

  let llama = try HFConfigReader.read(Data(llama405.utf8), name: "Llama-3.1-405B", source: "benchmark").converted(
    to: .fp8
  )
  let cluster2 = try topologies.load(["2x8-h100-ib"])
  let planner2 = try Planner(graph: cluster2)
  measure("auto search, Llama-3.1-405B fp8 on 2 × 8 H100") {
    _ = planner2.plan(
      InferenceRequest(model: llama, weights: .converted(.fp8), context: 8192, concurrency: 16)
    )
  }

  let ids = [
    "Qwen/Qwen3-32B", "Qwen/Qwen3-8B", "Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.2-1B",
    "mistralai/Mistral-7B-v0.1", "microsoft/phi-2", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "Qwen/Qwen3-30B-A3B",
    "openai/gpt-oss-20b", "google-bert/bert-base-cased", "meta-llama/Llama-3.1-70B",
  ]
  let roles = try ids.enumerated().map { index, id in
    let model = try loader.load(id)
    return InferenceRequest(
      model: model,
      weights: .asStored(model),
      role: "role\(index)",
      context: 8192,
      concurrency: 4
    )
  }
  measure("role split, 12 models on 16 GPUs (2 × 8 H100)") {
    _ = planner2.planRoles(roles)
  }

  let llama70 = try loader.load("meta-llama/Llama-3.1-70B")
  let cluster4Training = TrainingRequest(model: llama70, sequence: 4096, gradientAccumulation: 8)
  measure("training setup search, Llama-3.1-70B full on 4 × 8 H100") {
    _ = planner4.planTraining(cluster4Training)
  }

  // Emitting every launch file of a plan (no planning inside).
  let deepseekPlan = planner2.plan(
    InferenceRequest(model: deepseek, weights: .asStored(deepseek), context: 32_768, concurrency: 64)
  )
  let trainingPlan = planner4.planTraining(cluster4Training)
  measure("emit vllm.sh, DeepSeek-V3 on 2 × 8 H100", iterations: 200) {
    _ = try? Emitter(plan: deepseekPlan, graph: cluster2, models: ["default": deepseek], origin: "bench").emit([.vllm])
  }
  measure("emit accelerate, DeepSpeed, hostfile, torchrun, Llama-3.1-70B on 4 × 8 H100", iterations: 200) {
    _ = try? Emitter(plan: trainingPlan, graph: cluster4, models: ["default": llama70], origin: "bench").emit(nil)
  }

  // 126 layers of equal size over 8 stages of mixed cards: two fast (H200-like),
  // four medium, two slow, with capacities that bind.
  let layers = [Int64](repeating: 3_400_000_000, count: 126)
  let stages = (0..<8).map { index -> PipelinePartition.Stage in
    let speed: Double = index < 2 ? 4.8e12 : (index < 6 ? 3.35e12 : 1.0e12)
    let capacity: Int64 = index < 2 ? 130_000_000_000 : (index < 6 ? 70_000_000_000 : 40_000_000_000)
    return .init(
      capacityBytes: capacity,
      secondsPerByte: 1 / speed,
      firstStageExtraBytes: 2_000_000_000,
      lastStageExtraBytes: 2_000_000_000
    )
  }
  var solved: PipelinePartition.Solution?
  measure("pipeline partition, 126 layers over 8 mixed cards", iterations: 200) {
    solved = PipelinePartition.solve(layerBytes: layers, stages: stages)
  }
  if let solved { print("  layers per stage: \(solved.ranges.map(\.count))") }
} catch {
  print("benchmark setup failed: \(error)")
  exit(1)
}
