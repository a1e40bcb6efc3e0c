import Foundation
import Testing
import _ShardPlanTestSupport

@_spi(Fuzzing) @testable import ShardPlan

/// Inputs the fuzzer once broke the readers with (Fuzz/Regressions); each must
/// now be read, or refused with an InputError, promptly.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
  static var files: [String] {
    let folder = Repository.path("Fuzz/Regressions")
    return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted().map { "\(folder)/\($0)" }
  }

  @Test func everyRegressionFinishes() throws {
    #expect(!Self.files.isEmpty)
    for file in Self.files {
      let data = try Data(contentsOf: URL(fileURLWithPath: file))
      let text = String(decoding: data, as: UTF8.self)
      let start = Date()
      // What the fuzz drivers run on an input, each of them.
      FuzzEntryPoints.topologyText(text, source: file)
      FuzzEntryPoints.modelHeaders(data, path: file)
      FuzzEntryPoints.modelConfig(data, path: file)
      #expect(Date().timeIntervalSince(start) < 5, "\(file)")
    }
  }
}
