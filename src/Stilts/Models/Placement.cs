using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Models;

/// <summary>Where to run. Auto picks CUDA when libtorch sees a GPU, else the CPU.</summary>
public enum DeviceChoice { Cpu, Cuda, Auto }

/// <summary>
/// The dtype of a model's parameters and activations. BFloat16 halves memory; LayerNorm statistics and losses are
/// still computed in float32 (see <see cref="LayerNorm"/>, <see cref="Losses"/>). There is no autocast in TorchSharp.
/// </summary>
public enum Precision { Float32, BFloat16 }

public static class Placement
{
    /// <summary>The torch device for a choice; asking for CUDA without one is an input error, not a silent fallback.</summary>
    public static Device Resolve(DeviceChoice choice) => choice switch
    {
        DeviceChoice.Cpu => CPU,
        DeviceChoice.Cuda => cuda.is_available()
            ? CUDA
            : throw new InvalidInputException("device", "cuda was requested but libtorch sees no CUDA device (torch.cuda.is_available() is false)"),
        DeviceChoice.Auto => cuda.is_available() ? CUDA : CPU,
        _ => throw new ArgumentOutOfRangeException(nameof(choice), choice, null),
    };

    public static ScalarType ToScalarType(this Precision precision) => precision switch
    {
        Precision.Float32 => ScalarType.Float32,
        Precision.BFloat16 => ScalarType.BFloat16,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, null),
    };

    /// <summary>Moves a model's parameters and buffers to the device and casts floating ones to the precision.</summary>
    public static T Place<T>(this T module, DeviceChoice device, Precision precision = Precision.Float32) where T : nn.Module
    {
        module.to(Resolve(device));
        module.to(precision.ToScalarType());
        return module;
    }
}
