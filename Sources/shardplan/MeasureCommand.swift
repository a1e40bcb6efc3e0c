import ArgumentParser
import Foundation
import ShardPlan

struct MeasureCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "measure",
    abstract: "Write a PyTorch script that measures what the cost model assumes, on the plan's GPUs.",
    discussion: """
      Plans MODEL on --topology as `plan` does, then writes a self-contained Python \
      script (PyTorch only) that measures HBM bandwidth, bf16 and fp8 GEMM TFLOP/s at \
      the plan's shapes, NCCL all-reduce bus bandwidth over its tensor-parallel groups \
      (run it under torchrun for that) and the peak memory of two of the model's layers \
      over the plan's context. Its `shardplan-measure:` lines are what `reconcile` \
      reads; `reconcile … --write-calibration FILE` turns them into a calibration file. \
      `--small` shapes run in seconds on a CPU.
      """
  )

  @Argument(help: "The model, as for `plan`.")
  var model: String

  @Option(help: "The machine the script will run on: a bundled name or a file.")
  var topology: String = "local"

  @Option(help: "Strategy, as for `plan`.")
  var strategy: Strategy = .auto

  @Option(help: "Objective, as for `plan`.")
  var objective: Objective = .throughput

  @Option(help: "Sequences in flight, as for `plan`.")
  var concurrency: Int = 1

  @OptionGroup var options: ModelOptions

  @Option(help: "Write the script to this file (default: standard output).")
  var output: String?

  func validate() throws {
    guard concurrency >= 1, concurrency <= 100_000 else {
      throw ValidationError("--concurrency must be from 1 to 100000")
    }
  }

  func run() throws {
    do {
      let graph = try loadTopologyWithGPUs(topology)
      let spec = try options.loader.load(model)
      let request = try options.request(for: spec, concurrency: concurrency)
      let plan = try Planner(graph: graph, strategy: strategy, objective: objective).plan(request)
      guard plan.verdict != .doesNotFit else {
        throw InputError(
          .inconsistent,
          source: model,
          message: "the plan does not fit \(graph.name), so there is no layout to measure",
          fix: "Run `shardplan plan` with the same options to see why"
        )
      }
      let script = MeasureScript.text(plan: plan, model: request.model, graph: graph)
      if let output {
        let folder = (output as NSString).deletingLastPathComponent
        try EmittedFiles.write(
          [EmittedFile(name: (output as NSString).lastPathComponent, contents: script, executable: true)],
          to: folder.isEmpty ? "." : folder
        )
        FileHandle.standardError.write(Data("wrote \(output)\n".utf8))
      } else {
        print(script, terminator: "")
      }
    } catch {
      failWithInputError(error)
    }
  }
}
