import Foundation
import FuzzDriver
@_spi(Fuzzing) import ShardPlan

/// One libFuzzer input, written to a file and read as a GGUF file and as a
/// safetensors file. Readers may throw InputError; they must never crash, hang,
/// or allocate without bound (libFuzzer's -rss_limit_mb catches that).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("shardplan-fuzz-\(getpid()).bin").path
  let bytes = Data(bytes: data, count: size)
  guard FileManager.default.createFile(atPath: path, contents: bytes) else { return 0 }
  FuzzEntryPoints.modelHeaders(bytes, path: path)
  return 0
}

/// The executable's entry point: hands control to libFuzzer's driver.
@_cdecl("FuzzModelHeaders_main")
public func fuzzMain(
  _ argc: CInt,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
  runLibFuzzer(argc, argv) { data, size in fuzz(data, size) }
}
