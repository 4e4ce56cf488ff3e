using UsbRedir.Devices.Local;

namespace UsbRedir.Tests.Devices.Local;

public sealed class UsbIdsTests
{
    private const string Sample = """
        #	List of USB ID's
        # Syntax: vendor  vendor_name
        0409  NEC Corp.
        	55aa  Hub
        	55ab  Hub [iMac/iTouch kbd]
        0781  SanDisk Corp.
        	5567  Cruzer Blade
        		00  an interface line, skipped
        C 00  (Defined at Interface level)
        	01  not a product of vendor 0x0C00
        """;

    [Fact]
    public void Vendors_and_products_are_read_and_the_class_lists_ignored()
    {
        var ids = UsbIds.Parse(new StringReader(Sample));
        Assert.Equal("NEC Corp.", ids.Vendor(0x0409));
        Assert.Equal("Hub [iMac/iTouch kbd]", ids.Product(0x0409, 0x55ab));
        Assert.Equal("Cruzer Blade", ids.Product(0x0781, 0x5567));
        Assert.Null(ids.Product(0x0781, 0x0000));
        Assert.Null(ids.Vendor(0x0c00));
        Assert.Equal(2, ids.VendorCount);
        Assert.Equal(3, ids.ProductCount);
        Assert.Null(ids.Problem);
    }

    [Fact]
    public void A_truncated_file_keeps_what_was_read_before_the_cut()
    {
        var cut = Sample[..Sample.IndexOf("5567  Cru", StringComparison.Ordinal)] + "55";
        var ids = UsbIds.Parse(new StringReader(cut));
        Assert.Equal("SanDisk Corp.", ids.Vendor(0x0781));
        Assert.Null(ids.Product(0x0781, 0x5567));
        Assert.Equal("Hub", ids.Product(0x0409, 0x55aa));
    }

    [Fact]
    public void A_missing_file_is_an_empty_database_that_says_how_to_install_it()
    {
        var ids = UsbIds.Load(["/nonexistent/usb.ids"]);
        Assert.Null(ids.Vendor(0x0409));
        Assert.Contains("apt-get install usb.ids", ids.Problem);
        Assert.Null(ids.Path);
    }

    [Fact]
    public void The_system_database_from_the_usb_ids_package_names_common_devices()
    {
        Assert.True(File.Exists("/usr/share/misc/usb.ids"), "the Debian package usb.ids is missing: .ci/install-deps installs it");
        var ids = UsbIds.System;
        Assert.Equal("/usr/share/misc/usb.ids", ids.Path);
        Assert.Equal("Linux Foundation", ids.Vendor(0x1d6b));
        Assert.Equal("Cruzer Blade", ids.Product(0x0781, 0x5567));
        Assert.True(ids.VendorCount > 1000, $"{ids.VendorCount} vendors");
    }
}
