import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from medmonai.errors import ConfigError
from medmonai.networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    EqualizedConv2d,
    EqualizedLinear,
    GANEncoder,
    MinibatchStdDev,
    PixelNorm,
    ProgressiveDiscriminator,
    ProgressiveGenerator,
)

SMALL_DCGAN = dict(base_channels=8, max_channels=32)
# a non-square base, so height and width cannot be swapped unnoticed
SMALL_PROGRESSIVE = dict(base_shape=(3, 2), n_stages=4, channel_base=64, max_channels=32, min_channels=8)


def no_batch_norm(network: nn.Module) -> bool:
    return not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in network.modules())


@pytest.mark.parametrize("image_shape", [(64, 64), (128, 64)])
@pytest.mark.parametrize("channels", [1, 2])
def test_dcgan_shapes_and_range(image_shape, channels):
    torch.manual_seed(0)
    generator = DCGANGenerator(latent_size=16, out_channels=channels, image_shape=image_shape, **SMALL_DCGAN)
    discriminator = DCGANDiscriminator(in_channels=channels, image_shape=image_shape, **SMALL_DCGAN)
    assert generator.latent_size == 16 and generator.out_channels == channels
    assert generator.output_shape() == image_shape
    images = generator(torch.randn(3, 16))
    assert images.shape == (3, channels, *image_shape)
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.std() > 0
    scores = discriminator(images)
    assert scores.shape == (3,)
    features = discriminator.features(images)
    assert features.shape == (3, discriminator.feature_size)


def test_dcgan_starts_from_the_base_shape_with_one_transposed_conv_per_doubling():
    generator = DCGANGenerator(image_shape=(128, 64), **SMALL_DCGAN)
    doublings = [m for m in generator.modules() if isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2)]
    assert len(doublings) == 4  # 8x4 -> 128x64
    assert generator.net[0](torch.randn(2, 128, 1, 1)).shape == (2, 32, 8, 4)
    discriminator = DCGANDiscriminator(image_shape=(128, 64), **SMALL_DCGAN)
    assert discriminator.feature_size == 32 * 8 * 4
    assert discriminator.score.kernel_size == (8, 4)


@pytest.mark.parametrize(
    ("norm", "kind"), [("instance", nn.InstanceNorm2d), ("layer", nn.GroupNorm), ("none", type(None))]
)
def test_dcgan_discriminator_norms_and_no_batch_norm(norm, kind):
    torch.manual_seed(0)
    discriminator = DCGANDiscriminator(norm=norm, **SMALL_DCGAN).train()
    assert no_batch_norm(discriminator)
    norms = [m for m in discriminator.modules() if isinstance(m, (nn.InstanceNorm2d, nn.GroupNorm))]
    assert all(isinstance(m, kind) for m in norms) and (len(norms) > 0) == (norm != "none")
    # without batch norm a sample's score does not depend on the rest of its batch, even in training mode
    x = torch.rand(4, 1, 64, 64) * 2 - 1
    assert torch.allclose(discriminator(x)[:1], discriminator(x[:1]), atol=1e-5)


def test_no_discriminator_or_encoder_holds_batch_norm():
    networks = [DCGANDiscriminator(norm=norm) for norm in ("instance", "layer", "none")]
    networks += [ProgressiveDiscriminator(), ProgressiveDiscriminator(**SMALL_PROGRESSIVE), GANEncoder()]
    assert all(no_batch_norm(network) for network in networks)
    assert not no_batch_norm(DCGANGenerator())  # the check itself finds batch norm where there is some


def test_progressive_models_start_at_the_last_stage_at_full_size():
    generator = ProgressiveGenerator(latent_size=32, **SMALL_PROGRESSIVE)
    discriminator = ProgressiveDiscriminator(**SMALL_PROGRESSIVE)
    for network in (generator, discriminator):
        assert network.n_stages == 4 and int(network.stage) == 3 and float(network.alpha) == 1.0
        assert network.stage.dtype == torch.long and network.alpha.dtype == torch.float32
    assert generator.output_shape() == (24, 16)
    assert generator(torch.randn(2, 32)).shape == (2, 1, 24, 16)
    assert generator.channels == [32, 32, 16, 8]  # clamp(64 / 2**s, 8, 32)


@pytest.mark.parametrize("channels", [1, 2])
def test_progressive_every_stage_and_alpha_has_the_right_shape(channels):
    torch.manual_seed(0)
    generator = ProgressiveGenerator(latent_size=32, out_channels=channels, **SMALL_PROGRESSIVE)
    discriminator = ProgressiveDiscriminator(in_channels=channels, **SMALL_PROGRESSIVE)
    z = torch.randn(4, 32)
    for stage in range(4):
        for alpha in (0.0, 0.5, 1.0):
            generator.set_progress(stage, alpha)
            discriminator.set_progress(stage, alpha)
            images = generator(z)
            size = (3 * 2**stage, 2 * 2**stage)
            assert generator.output_shape() == generator.output_shape(stage) == size
            assert images.shape == (4, channels, *size)
            assert images.min() >= -1.0 and images.max() <= 1.0
            scores = discriminator(images)
            assert scores.shape == (4,) and torch.isfinite(scores).all()
            features = discriminator.features(images)
            assert features.shape == (4, 32)
            assert torch.allclose(discriminator.score(features).flatten(), scores)


def test_generator_fade_in_at_alpha_0_is_the_previous_stage_upsampled():
    torch.manual_seed(0)
    generator = ProgressiveGenerator(latent_size=32, **SMALL_PROGRESSIVE).eval()
    z = torch.randn(3, 32)
    with torch.no_grad():
        for stage in range(1, 4):
            generator.set_progress(stage - 1, 1.0)
            previous = F.interpolate(generator(z), scale_factor=2, mode="nearest")
            generator.set_progress(stage, 0.0)
            faded = generator(z)
            generator.set_progress(stage, 0.5)
            half = generator(z)
            generator.set_progress(stage, 1.0)
            new = generator(z)
            assert torch.allclose(faded, previous, atol=1e-6)
            assert not torch.allclose(new, previous, atol=1e-3)
            # the blend happens before tanh: atanh(half) is the mean of atanh(new) and atanh(previous)
            assert torch.allclose(torch.atanh(half), (torch.atanh(new) + torch.atanh(previous)) / 2, atol=1e-4)


def test_discriminator_fade_in_at_alpha_0_is_the_previous_stage_on_the_pooled_image():
    torch.manual_seed(0)
    discriminator = ProgressiveDiscriminator(**SMALL_PROGRESSIVE)
    for stage in range(1, 4):
        x = torch.rand(4, 1, 3 * 2**stage, 2 * 2**stage) * 2 - 1
        with torch.no_grad():
            discriminator.set_progress(stage - 1, 1.0)
            previous = discriminator(F.avg_pool2d(x, 2))
            discriminator.set_progress(stage, 0.0)
            faded = discriminator(x)
            discriminator.set_progress(stage, 1.0)
            new = discriminator(x)
        assert torch.allclose(faded, previous, atol=1e-5)
        assert not torch.allclose(new, previous, atol=1e-3)


def test_progress_is_saved_in_and_restored_from_the_state_dict():
    torch.manual_seed(0)
    generator = ProgressiveGenerator(latent_size=32, **SMALL_PROGRESSIVE).eval()
    discriminator = ProgressiveDiscriminator(**SMALL_PROGRESSIVE)
    generator.set_progress(2, 0.25)
    discriminator.set_progress(2, 0.25)
    state_g, state_d = generator.state_dict(), discriminator.state_dict()
    assert int(state_g["stage"]) == 2 and float(state_g["alpha"]) == 0.25

    torch.manual_seed(1)  # other weights, and the default progress (last stage, alpha 1)
    fresh_g = ProgressiveGenerator(latent_size=32, **SMALL_PROGRESSIVE).eval()
    fresh_d = ProgressiveDiscriminator(**SMALL_PROGRESSIVE)
    z = torch.randn(4, 32)
    with torch.no_grad():
        assert fresh_g(z).shape[-2:] == (24, 16)
        fresh_g.load_state_dict(state_g)
        fresh_d.load_state_dict(state_d)
        assert int(fresh_g.stage) == int(fresh_d.stage) == 2
        assert float(fresh_g.alpha) == float(fresh_d.alpha) == 0.25
        images = generator(z)
        assert images.shape[-2:] == (12, 8)
        assert torch.equal(fresh_g(z), images)
        assert torch.equal(fresh_d(images), discriminator(images))


def test_progressive_generator_normalises_the_latent():
    torch.manual_seed(0)
    generator = ProgressiveGenerator(latent_size=32, **SMALL_PROGRESSIVE).eval()
    z = torch.randn(2, 32)
    with torch.no_grad():
        generator.project.bias.normal_()  # a trained bias: without the latent's norm, scaling z changes the output
        assert torch.allclose(generator(z), generator(5.0 * z), atol=1e-5)
    x = torch.randn(2, 7, 3, 3) * 4
    assert torch.allclose(PixelNorm()(x).pow(2).mean(dim=1), torch.ones(2, 3, 3), atol=1e-4)


@pytest.mark.parametrize("fan_in_channels", [4, 512])
def test_equalized_layers_have_unit_weights_and_he_scaled_outputs(fan_in_channels):
    torch.manual_seed(0)
    conv = EqualizedConv2d(fan_in_channels, 64, 3, padding=0)  # no padding: every output sees a full window
    linear = EqualizedLinear(fan_in_channels * 9, 256)
    for layer in (conv, linear):
        assert abs(layer.weight.std().item() - 1.0) < 0.05
        assert torch.count_nonzero(layer.bias) == 0
    with torch.no_grad():
        out_conv = conv(torch.randn(16, fan_in_channels, 12, 12))
        out_linear = linear(torch.randn(512, fan_in_channels * 9))
        out_rgb = EqualizedConv2d(fan_in_channels, 8, 1, gain=1.0)(torch.randn(64, fan_in_channels, 8, 8))
    # He's constant: output variance = gain**2 = 2 whatever the fan-in (a plain N(0, 1) layer would give fan_in)
    assert 1.6 < out_conv.var().item() < 2.4
    assert 1.6 < out_linear.var().item() < 2.4
    assert 0.8 < out_rgb.var().item() < 1.2
    assert conv.scale == pytest.approx(math.sqrt(2.0 / (fan_in_channels * 9)))


def test_minibatch_stddev_falls_back_to_the_largest_divisor_of_the_batch():
    layer = MinibatchStdDev(group_size=4)
    assert [layer.group_for(b) for b in (1, 2, 4, 6, 7, 8, 12)] == [1, 2, 4, 3, 1, 4, 4]

    torch.manual_seed(0)
    x = torch.randn(6, 3, 2, 2)
    out = layer(x)
    assert out.shape == (6, 4, 2, 2) and torch.equal(out[:, :3], x)
    # groups of 3 samples, 2 samples apart, as PGGAN's reshape(G, -1, ...)
    for members in ([0, 2, 4], [1, 3, 5]):
        expected = torch.sqrt(x[members].var(dim=0, unbiased=False) + 1e-8).mean()
        assert torch.allclose(out[members, 3], expected.expand(3, 2, 2))
    assert not torch.allclose(out[0, 3], out[1, 3])

    single = torch.randn(1, 3, 2, 2, requires_grad=True)
    out = layer(single)
    assert out.shape == (1, 4, 2, 2) and torch.allclose(out[:, 3], torch.full((1, 2, 2), 1e-4))
    out.sum().backward()
    assert torch.isfinite(single.grad).all()


@pytest.mark.parametrize("batch", [1, 6])
def test_progressive_discriminator_trains_with_any_batch_size(batch):
    torch.manual_seed(0)
    discriminator = ProgressiveDiscriminator(mbstd_group=4, **SMALL_PROGRESSIVE)
    x = torch.rand(batch, 1, 24, 16, requires_grad=True)
    scores = discriminator(x)
    assert scores.shape == (batch,)
    scores.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_progressive_1280x1024_runs_forward_and_backward_at_every_stage():
    torch.manual_seed(0)
    settings = dict(base_shape=(5, 4), n_stages=9, channel_base=512, max_channels=32, min_channels=4)
    generator = ProgressiveGenerator(latent_size=64, out_channels=2, **settings)
    discriminator = ProgressiveDiscriminator(in_channels=2, **settings)
    assert generator.output_shape() == (1280, 1024) and generator.output_shape(0) == (5, 4)
    z = torch.randn(1, 64)
    for stage in range(9):
        generator.set_progress(stage, 0.5)  # mid fade-in: both the new and the previous path run
        discriminator.set_progress(stage, 0.5)
        generator.zero_grad()
        images = generator(z)
        assert images.shape == (1, 2, 5 * 2**stage, 4 * 2**stage)
        score = discriminator(images)
        assert score.shape == (1,)
        score.sum().backward()
        new_block = generator.blocks[stage][-3] if stage == 0 else generator.blocks[stage][1]
        assert new_block.weight.grad is not None and torch.isfinite(new_block.weight.grad).all()
    encoder = GANEncoder(in_channels=2, image_shape=(1280, 1024), latent_size=64, base_channels=4, max_channels=16)
    assert encoder(images.detach()).shape == (1, 64)


def test_bad_arguments_raise_config_errors_that_name_the_value():
    with pytest.raises(ConfigError, match="image_shape 60x64: DCGAN needs sides that are powers of two"):
        DCGANGenerator(image_shape=(60, 64))
    with pytest.raises(ConfigError, match="image_shape 4x4: DCGAN"):
        DCGANDiscriminator(image_shape=(4, 4))
    with pytest.raises(ConfigError, match="image_shape 64x64x64"):
        DCGANGenerator(image_shape=(64, 64, 64))
    with pytest.raises(ConfigError, match="norm 'batch': choose one of 'instance', 'layer', 'none'"):
        DCGANDiscriminator(norm="batch")
    with pytest.raises(ConfigError, match="latent_size must be an integer >= 1, got 0"):
        DCGANGenerator(latent_size=0)
    with pytest.raises(ConfigError, match="stage 1: a DCGAN has one stage"):
        DCGANGenerator().output_shape(1)
    with pytest.raises(ConfigError, match=r"base_shape \(17, 4\): need two integer sides from 1 to 16"):
        ProgressiveGenerator(base_shape=(17, 4))
    with pytest.raises(ConfigError, match=r"base_shape \(0, 4\)"):
        ProgressiveDiscriminator(base_shape=(0, 4))
    with pytest.raises(ConfigError, match="n_stages must be an integer >= 1, got 0"):
        ProgressiveGenerator(n_stages=0)
    with pytest.raises(ConfigError, match="mbstd_group must be an integer >= 1, got 0"):
        ProgressiveDiscriminator(mbstd_group=0)
    with pytest.raises(ConfigError, match="min_channels 64 is above max_channels 32"):
        ProgressiveGenerator(min_channels=64, max_channels=32)
    generator = ProgressiveGenerator(**SMALL_PROGRESSIVE)
    with pytest.raises(ConfigError, match=r"stage 4: choose 0\.\.3"):
        generator.set_progress(4, 1.0)
    with pytest.raises(ConfigError, match=r"alpha 1\.5: choose a value in \[0, 1\]"):
        generator.set_progress(1, 1.5)
    with pytest.raises(ConfigError, match=r"stage -1: choose 0\.\.3"):
        generator.output_shape(-1)
    assert int(generator.stage) == 3 and float(generator.alpha) == 1.0  # a refused setting changes nothing
    with pytest.raises(ConfigError, match="image_shape 34x34: GANEncoder needs"):
        GANEncoder(image_shape=(34, 34))


def test_progressive_discriminator_refuses_an_image_of_another_stage():
    discriminator = ProgressiveDiscriminator(**SMALL_PROGRESSIVE)
    discriminator.set_progress(1, 1.0)
    with pytest.raises(ValueError, match=r"input of size \(24, 16\) at stage 1: expected \(6, 4\)"):
        discriminator(torch.rand(2, 1, 24, 16))


@pytest.mark.parametrize("image_shape", [(64, 64), (128, 64), (80, 64), (24, 16)])
def test_encoder_maps_images_to_the_latent_size(image_shape):
    encoder = GANEncoder(in_channels=2, image_shape=image_shape, latent_size=20, base_channels=8, max_channels=32)
    assert encoder(torch.rand(3, 2, *image_shape)).shape == (3, 20)


@pytest.mark.parametrize(
    "generator",
    [
        DCGANGenerator(latent_size=16, out_channels=2, image_shape=(128, 64), **SMALL_DCGAN),
        ProgressiveGenerator(latent_size=16, out_channels=2, **SMALL_PROGRESSIVE),
    ],
    ids=["dcgan", "progressive"],
)
def test_generated_images_encode_and_decode_back(generator):
    torch.manual_seed(0)
    encoder = GANEncoder(
        in_channels=generator.out_channels, image_shape=generator.output_shape(), latent_size=generator.latent_size
    )
    generator.eval().requires_grad_(False)  # f-AnoGAN trains the encoder against a frozen generator
    images = generator(torch.randn(4, 16))
    codes = encoder(images)
    assert codes.shape == (4, 16)
    recon = generator(codes)
    assert recon.shape == images.shape == (4, 2, *generator.output_shape())
    F.mse_loss(recon, images).backward()
    assert all(p.grad is not None for p in encoder.parameters())


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_progressive_models_trace_at_their_current_stage_for_bundle_export():
    torch.manual_seed(0)
    generator = ProgressiveGenerator(latent_size=16, **SMALL_PROGRESSIVE).eval()
    discriminator = ProgressiveDiscriminator(**SMALL_PROGRESSIVE).eval()
    z = torch.randn(2, 16)
    with torch.no_grad():
        images = generator(z)
        traced_g = torch.jit.trace(generator, z)
        traced_d = torch.jit.trace(discriminator, images)
        assert traced_g(z).shape == (2, 1, 24, 16) and torch.allclose(traced_g(z), images, atol=1e-6)
        assert torch.allclose(traced_d(images), discriminator(images), atol=1e-5)
