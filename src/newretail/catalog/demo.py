"""A realistic, deterministic grocery assortment for the demo city and the digital twin.

``generate_demo_catalog(seed, store_count)`` is pure: the same seed gives the same products, GTINs,
prices and shelf layout, byte for byte. ``seed_demo_catalog`` writes it for a tenant's stores in
bulk inserts.

The assortment is built from product lines (a noun, pack sizes with a base price, flavour or cut
variants, brands) per category; each category samples a fixed number of (brand, variant, size)
combinations. Own-label tiers (standard, "Finest", "Essentials") sit next to invented national
brands. Loose produce and the butcher, fish and cheese counters are sold by weight (priced per kg,
``unit_weight_g`` is one typical piece). Temperature zone is a property of the category. The layout
follows the store walk: ambient aisles first, then chilled, then frozen, so cold goods are picked
last; each category starts on a fresh bay.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from newretail.catalog import services
from newretail.catalog.import_csv import REQUIRED_COLUMNS, STORE_COLUMNS
from newretail.catalog.model import Product, ShelfLocation, SoldBy, TemperatureZone, gtin_check_digit
from newretail.catalog.services import ImportSummary
from newretail.core.ids import new_id
from newretail.core.uow import UnitOfWork

OWN_LABEL = "FreshMart"
# Own-label tiers and their price against the standard own label, in per-mille (no floats for money).
OWN_TIERS = ((OWN_LABEL, 1000), (f"{OWN_LABEL} Finest", 1450), (f"{OWN_LABEL} Essentials", 720))
FACINGS_PER_SHELF = 2
SHELVES_PER_BAY = {TemperatureZone.AMBIENT: 6, TemperatureZone.CHILLED: 5, TemperatureZone.FROZEN: 4}
ZONE_WALK_ORDER = (TemperatureZone.AMBIENT, TemperatureZone.CHILLED, TemperatureZone.FROZEN)
BAYS_PER_AISLE_CHOICES = (10, 12, 14)  # stores differ in size


@dataclass(frozen=True, slots=True)
class _Size:
    label: str
    grams: int
    price: int  # standard own-label price in minor units (per kg when loose)


@dataclass(frozen=True, slots=True)
class _Line:
    noun: str  # "{v}" marks where the variant goes; otherwise the variant comes first
    sizes: tuple[_Size, ...]
    variants: tuple[str, ...] = ("",)
    brands: tuple[str, ...] = ()  # empty: the category's brands plus the own-label tiers
    loose: bool = False  # sold by weight, no brand, one product


@dataclass(frozen=True, slots=True)
class _Category:
    name: str
    code: str
    zone: TemperatureZone
    brands: tuple[str, ...]
    target: int
    lines: tuple[_Line, ...]


def _line(
    noun: str, *sizes: tuple[str, int, int], variants: Sequence[str] = ("",), brands: Sequence[str] = ()
) -> _Line:
    return _Line(noun, tuple(_Size(*s) for s in sizes), tuple(variants), tuple(brands))


def _loose(noun: str, piece_g: int, per_kg: int) -> _Line:
    return _Line(noun, (_Size("", piece_g, per_kg),), loose=True)


A, C, F = TemperatureZone.AMBIENT, TemperatureZone.CHILLED, TemperatureZone.FROZEN

# fmt: off
# The assortment reads best as a table: one product line per row.
CATEGORIES: tuple[_Category, ...] = (
    _Category("Fruit", "FRU", A, ("Orchard Gold", "Sunvalley Farms"), 75, (
        _loose("Loose Bananas", 120, 95),
        _loose("Loose Braeburn Apples", 170, 250),
        _loose("Loose Gala Apples", 160, 230),
        _loose("Loose Pink Lady Apples", 180, 340),
        _loose("Loose Granny Smith Apples", 170, 260),
        _loose("Loose Conference Pears", 180, 240),
        _loose("Loose Navel Oranges", 220, 220),
        _loose("Loose Lemons", 110, 320),
        _loose("Loose Limes", 70, 480),
        _loose("Loose Nectarines", 140, 350),
        _loose("Loose Plums", 60, 330),
        _loose("Loose Kiwi Fruit", 80, 400),
        _line("Apples", ("4 pack", 680, 170), ("6 pack", 1000, 230),
              variants=("Braeburn", "Gala", "Pink Lady", "Jazz", "Granny Smith")),
        _line("Strawberries", ("227g", 227, 200), ("400g", 400, 350)),
        _line("Blueberries", ("150g", 150, 200), ("300g", 300, 375)),
        _line("Raspberries", ("150g", 150, 225)),
        _line("Seedless Grapes", ("500g", 500, 250), variants=("Red", "Green", "Black")),
        _line("Easy Peeler Clementines", ("600g", 600, 180)),
        _line("Pineapple", ("", 1100, 130)),
        _line("Ripe & Ready Avocados", ("2 pack", 350, 180)),
    )),
    _Category("Vegetables", "VEG", A, ("Green Acre", "Sunvalley Farms"), 75, (
        _loose("Loose White Potatoes", 200, 110),
        _loose("Loose Sweet Potatoes", 300, 180),
        _loose("Loose Brown Onions", 150, 95),
        _loose("Loose Red Onions", 150, 130),
        _loose("Loose Carrots", 80, 70),
        _loose("Loose Parsnips", 120, 160),
        _loose("Loose Leeks", 250, 250),
        _loose("Loose Courgettes", 250, 260),
        _loose("Loose Closed Cup Mushrooms", 15, 450),
        _loose("Loose Broccoli", 350, 190),
        _loose("Loose Garlic", 50, 600),
        _loose("Loose Root Ginger", 80, 700),
        _loose("Loose Butternut Squash", 1000, 150),
        _line("Baby Potatoes", ("1kg", 1000, 150)),
        _line("Maris Piper Potatoes", ("2.5kg", 2500, 250)),
        _line("Carrots", ("1kg", 1000, 60)),
        _line("Closed Cup Mushrooms", ("300g", 300, 95), ("500g", 500, 150)),
        _line("Mixed Peppers", ("3 pack", 540, 160)),
        _line("Tenderstem Broccoli", ("200g", 200, 200)),
        _line("Green Beans", ("220g", 220, 150)),
        _line("Sugar Snap Peas", ("150g", 150, 165)),
        _line("Corn on the Cob", ("2 pack", 500, 140)),
        _line("Cauliflower", ("", 700, 110)),
        _line("Savoy Cabbage", ("", 800, 85)),
    )),
    _Category("Bakery", "BAK", A, ("Millbrook Bakery", "Golden Crust", "Hearth & Loaf"), 85, (
        _line("White Bread", ("800g", 800, 110), variants=("Medium Sliced", "Thick Sliced", "Toastie")),
        _line("Wholemeal Bread", ("800g", 800, 120), variants=("Medium Sliced", "Thick Sliced")),
        _line("Seeded Batch Loaf", ("800g", 800, 175)),
        _line("Sourdough Loaf", ("400g", 400, 250)),
        _line("Baguette", ("", 250, 75)),
        _line("Crusty Rolls", ("4 pack", 260, 85)),
        _line("Brioche Buns", ("4 pack", 200, 160)),
        _line("Bagels", ("5 pack", 425, 140), variants=("Plain", "Sesame", "Cinnamon & Raisin")),
        _line("Crumpets", ("6 pack", 330, 80)),
        _line("English Muffins", ("6 pack", 400, 110)),
        _line("Croissants", ("4 pack", 180, 170)),
        _line("Pains au Chocolat", ("4 pack", 180, 180)),
        _line("Tortilla Wraps", ("8 pack", 500, 135), variants=("Plain", "Wholemeal", "Seeded")),
        _line("Naan Breads", ("2 pack", 260, 110), variants=("Plain", "Garlic & Coriander")),
        _line("Victoria Sponge", ("", 360, 250)),
        _line("Chocolate Muffins", ("4 pack", 300, 200)),
        _line("Doughnuts", ("4 pack", 260, 150), variants=("Jam", "Custard", "Glazed Ring")),
    )),
    _Category("Breakfast Cereals", "CER", A, ("Morning Harvest", "Oatfield", "Crunchy Valley"), 80, (
        _line("Corn Flakes", ("500g", 500, 140), ("720g", 720, 195)),
        _line("Bran Flakes", ("750g", 750, 180)),
        _line("Crunchy Granola", ("500g", 500, 250), variants=("Honey & Almond", "Berry", "Chocolate")),
        _line("Porridge Oats", ("500g", 500, 75), ("1kg", 1000, 125)),
        _line("Porridge Pot", ("60g", 60, 80), variants=("Golden Syrup", "Original", "Apple & Blueberry")),
        _line("Muesli", ("750g", 750, 200), variants=("Swiss Style", "Fruit & Nut")),
        _line("Wheat Biscuits", ("24 pack", 430, 220)),
        _line("Rice Pops", ("440g", 440, 150)),
        _line("Choco Hoops", ("375g", 375, 180)),
        _line("Frosted Flakes", ("500g", 500, 225)),
        _line("Fruit & Fibre", ("500g", 500, 180)),
    )),
    _Category("Tea & Coffee", "TEA", A, ("Brewhouse", "Highland Leaf", "Café Rosso", "Monsoon Estate"), 85, (
        _line("Tea Bags", ("80 pack", 250, 180), ("160 pack", 500, 320), variants=("Everyday", "Decaf", "Gold Blend")),
        _line("Green Tea Bags", ("40 pack", 80, 150)),
        _line("Herbal Tea", ("20 pack", 40, 130), variants=("Peppermint", "Camomile", "Lemon & Ginger", "Berry")),
        _line("Earl Grey Tea Bags", ("50 pack", 125, 200)),
        _line("Ground Coffee", ("227g", 227, 350), variants=("Colombian", "Italian Roast", "Decaf")),
        _line("Coffee Beans", ("500g", 500, 600), ("1kg", 1000, 1100), variants=("Espresso", "House Blend")),
        _line("Instant Coffee", ("100g", 100, 350), ("200g", 200, 600), variants=("Original", "Gold", "Decaf")),
        _line("Coffee Pods", ("10 pack", 55, 300), variants=("Lungo", "Espresso", "Ristretto")),
        _line("Hot Chocolate", ("500g", 500, 300)),
    )),
    _Category("Pasta, Rice & Grains", "PAS", A, ("Casa Romana", "Golden Grain", "Lotus Fields"), 90, (
        _line("{v}", ("500g", 500, 75), ("1kg", 1000, 130),
              variants=("Penne", "Fusilli", "Spaghetti", "Farfalle", "Rigatoni", "Linguine")),
        _line("Wholewheat {v}", ("500g", 500, 95), variants=("Penne", "Fusilli", "Spaghetti")),
        _line("Egg Tagliatelle", ("500g", 500, 150)),
        _line("Basmati Rice", ("500g", 500, 130), ("1kg", 1000, 225)),
        _line("Long Grain Rice", ("1kg", 1000, 95)),
        _line("Arborio Risotto Rice", ("500g", 500, 160)),
        _line("Microwave {v} Rice", ("250g", 250, 110), variants=("Basmati", "Pilau", "Egg Fried", "Wholegrain")),
        _line("Couscous", ("500g", 500, 120)),
        _line("Quinoa", ("300g", 300, 250)),
        _line("{v} Noodles", ("300g", 300, 110), variants=("Egg", "Rice", "Udon")),
        _line("Red Lentils", ("500g", 500, 135)),
    )),
    _Category("Tins & Jars", "TIN", A, ("Harvest Table", "Seaview", "Red Barn"), 95, (
        _line("Chopped Tomatoes", ("400g", 400, 50)),
        _line("Baked Beans", ("415g", 415, 60), ("4 x 415g", 1660, 230)),
        _line("Chickpeas", ("400g", 400, 55)),
        _line("Red Kidney Beans", ("400g", 400, 50)),
        _line("Sweetcorn", ("325g", 325, 70)),
        _line("Tuna Chunks in {v}", ("145g", 145, 100), ("4 x 145g", 580, 380),
              variants=("Spring Water", "Sunflower Oil", "Brine")),
        _line("Sardines in Tomato Sauce", ("120g", 120, 80)),
        _line("{v} Soup", ("400g", 400, 85),
              variants=("Cream of Tomato", "Chicken", "Vegetable", "Minestrone", "Leek & Potato", "Mushroom")),
        _line("Coconut Milk", ("400ml", 400, 110)),
        _line("Peaches in Juice", ("410g", 410, 70)),
        _line("Pineapple Chunks", ("432g", 432, 75)),
        _line("Garden Peas", ("300g", 300, 45)),
        _line("Corned Beef", ("340g", 340, 275)),
    )),
    _Category("Sauces & Condiments", "SAU", A, ("Chef's Pantry", "Red Barn", "Spice Route"), 95, (
        _line("Tomato Ketchup", ("460g", 460, 150), ("910g", 910, 250)),
        _line("Mayonnaise", ("400ml", 400, 175), variants=("Real", "Light")),
        _line("Brown Sauce", ("425g", 425, 140)),
        _line("English Mustard", ("180g", 180, 110)),
        _line("{v} Pasta Sauce", ("500g", 500, 140),
              variants=("Tomato & Basil", "Arrabbiata", "Bolognese", "Tomato & Garlic")),
        _line("{v} Pesto", ("190g", 190, 200), variants=("Green", "Red")),
        _line("{v} Curry Sauce", ("500g", 500, 160), variants=("Tikka Masala", "Korma", "Jalfrezi", "Madras")),
        _line("Soy Sauce", ("150ml", 150, 110)),
        _line("Sweet Chilli Sauce", ("250ml", 250, 130)),
        _line("{v} Gravy Granules", ("200g", 200, 150), variants=("Beef", "Chicken", "Onion")),
        _line("{v} Stock Cubes", ("12 pack", 120, 100), variants=("Chicken", "Beef", "Vegetable")),
        _line("Balsamic Vinegar", ("250ml", 250, 175)),
        _line("Salad Cream", ("425g", 425, 150)),
        _line("Strawberry Jam", ("340g", 340, 100)),
        _line("Orange Marmalade", ("454g", 454, 120)),
        _line("{v} Peanut Butter", ("340g", 340, 175), variants=("Smooth", "Crunchy")),
        _line("Clear Honey", ("340g", 340, 225)),
        _line("Chocolate Spread", ("400g", 400, 200)),
    )),
    _Category("Baking & Cooking", "BKG", A, ("Millbrook", "Sweet Meadow", "Spice Route", "Olivia Grove"), 95, (
        _line("Plain Flour", ("1.5kg", 1500, 90)),
        _line("Self Raising Flour", ("1.5kg", 1500, 90)),
        _line("Strong White Bread Flour", ("1.5kg", 1500, 130)),
        _line("Granulated Sugar", ("1kg", 1000, 110)),
        _line("Caster Sugar", ("1kg", 1000, 150)),
        _line("Icing Sugar", ("500g", 500, 120)),
        _line("Light Brown Sugar", ("500g", 500, 135)),
        _line("Baking Powder", ("170g", 170, 100)),
        _line("Bicarbonate of Soda", ("200g", 200, 90)),
        _line("Vanilla Extract", ("38ml", 38, 300)),
        _line("Cocoa Powder", ("250g", 250, 275)),
        _line("Sunflower Oil", ("1L", 920, 200)),
        _line("{v} Olive Oil", ("500ml", 460, 450), ("1L", 920, 800), variants=("Extra Virgin", "Light")),
        _line("Vegetable Oil", ("1L", 920, 175)),
        _line("Rapeseed Oil", ("1L", 920, 190)),
        _line("Dried {v}", ("15g", 15, 90), variants=("Oregano", "Basil", "Thyme", "Mixed Herbs", "Parsley")),
        _line("Ground {v}", ("40g", 40, 110),
              variants=("Cumin", "Paprika", "Turmeric", "Cinnamon", "Chilli Powder", "Ginger")),
        _line("Black Peppercorns", ("100g", 100, 200)),
        _line("Table Salt", ("750g", 750, 65)),
        _line("Sea Salt Flakes", ("250g", 250, 225)),
    )),
    _Category("Snacks & Crisps", "SNK", A, ("Crunchers", "Golden Valley", "Popworks"), 90, (
        _line("{v} Crisps", ("6 x 25g", 150, 150), ("150g sharing bag", 150, 125),
              variants=("Ready Salted", "Salt & Vinegar", "Cheese & Onion", "Prawn Cocktail", "Smoky Bacon")),
        _line("{v} Tortilla Chips", ("200g", 200, 125), variants=("Lightly Salted", "Chilli", "Cool Flavour")),
        _line("{v} Popcorn", ("100g", 100, 150), variants=("Sweet & Salty", "Salted", "Toffee")),
        _line("Salted Peanuts", ("200g", 200, 125)),
        _line("Mixed Nuts", ("200g", 200, 300)),
        _line("Cashew Nuts", ("200g", 200, 325)),
        _line("Pretzels", ("175g", 175, 110)),
        _line("{v} Rice Cakes", ("130g", 130, 110), variants=("Lightly Salted", "Dark Chocolate")),
        _line("Breadsticks", ("125g", 125, 90)),
        _line("{v} Cereal Bars", ("5 pack", 175, 175), variants=("Oat & Honey", "Chocolate Chip", "Fruit & Nut")),
        _line("Hummus Chips", ("100g", 100, 150)),
    )),
    _Category("Biscuits & Confectionery", "BIS", A, ("Tea Time", "Cocoa Lane", "Crumbleton"), 90, (
        _line("{v} Digestive Biscuits", ("400g", 400, 120), variants=("Original", "Milk Chocolate", "Dark Chocolate")),
        _line("Rich Tea Biscuits", ("300g", 300, 65)),
        _line("Chocolate Chip Cookies", ("200g", 200, 125)),
        _line("Custard Creams", ("400g", 400, 75)),
        _line("Bourbon Creams", ("400g", 400, 80)),
        _line("Shortbread Fingers", ("160g", 160, 175)),
        _line("Ginger Nuts", ("250g", 250, 70)),
        _line("Orange Sponge Cakes", ("12 pack", 150, 150)),
        _line("{v} Chocolate Bar", ("100g", 100, 125), ("200g", 200, 225),
              variants=("Milk", "Dark 70%", "Whole Nut", "Fruit & Nut", "White")),
        _line("Chocolate Buttons", ("120g", 120, 150)),
        _line("Fruit Gums", ("165g", 165, 125)),
        _line("Jelly Sweets", ("190g", 190, 125)),
        _line("Mints", ("50g", 50, 65)),
        _line("{v} Chewing Gum", ("10 pack", 14, 75), variants=("Spearmint", "Peppermint")),
    )),
    _Category("World Foods", "WLD", A, ("Spice Route", "Lotus Fields", "Casa Mexicana", "Sakura Table"), 85, (
        _line("Fajita Kit", ("510g", 510, 275)),
        _line("Taco Shells", ("12 pack", 135, 150)),
        _line("Refried Beans", ("435g", 435, 150)),
        _line("Jalapeño Slices", ("215g", 215, 130)),
        _line("{v} Salsa", ("300g", 300, 150), variants=("Mild", "Hot")),
        _line("{v} Thai Curry Paste", ("114g", 114, 175), variants=("Green", "Red", "Massaman")),
        _line("Fish Sauce", ("200ml", 200, 150)),
        _line("Miso Paste", ("200g", 200, 275)),
        _line("Sushi Rice", ("500g", 500, 225)),
        _line("Nori Sheets", ("10 pack", 25, 250)),
        _line("Sriracha Sauce", ("435ml", 435, 250)),
        _line("Poppadoms", ("8 pack", 80, 110)),
        _line("Mango Chutney", ("340g", 340, 150)),
        _line("Lime Pickle", ("283g", 283, 150)),
        _line("{v} Curry Paste", ("283g", 283, 175), variants=("Tikka", "Korma", "Madras", "Rogan Josh")),
        _line("Hoisin Sauce", ("150ml", 150, 125)),
        _line("Oyster Sauce", ("150ml", 150, 150)),
        _line("Gochujang", ("170g", 170, 300)),
        _line("Harissa Paste", ("90g", 90, 175)),
    )),
    _Category("Soft Drinks", "SFT", A, ("Fizzwell", "Citrus Bay", "Cola Royale"), 90, (
        _line("{v} Cola", ("500ml", 500, 125), ("2L", 2000, 175), ("6 x 330ml", 2100, 400),
              variants=("Original", "Zero Sugar", "Diet", "Cherry")),
        _line("{v} Lemonade", ("2L", 2000, 110), variants=("Cloudy", "Traditional", "Diet")),
        _line("Sparkling Orange", ("2L", 2000, 150)),
        _line("Ginger Beer", ("4 x 275ml", 1200, 250)),
        _line("{v} Tonic Water", ("4 x 200ml", 880, 225), variants=("Indian", "Light", "Elderflower")),
        _line("{v} Energy Drink", ("250ml", 250, 125), ("4 x 250ml", 1000, 400),
              variants=("Original", "Sugar Free", "Tropical")),
        _line("{v} Squash", ("1L", 1000, 150),
              variants=("Orange", "Summer Fruits", "Blackcurrant", "Apple & Blackcurrant")),
        _line("{v} Iced Tea", ("500ml", 500, 125), variants=("Lemon", "Peach")),
        _line("{v} Sparkling Water Drink", ("1L", 1000, 90), variants=("Lemon & Lime", "Berry", "Peach")),
    )),
    _Category("Water & Juice", "JUI", A, ("Glenmoor Water", "Orchard Press", "Tropic Sun"), 75, (
        _line("Still Spring Water", ("500ml", 500, 50), ("2L", 2000, 75), ("6 x 1.5L", 9000, 300)),
        _line("Sparkling Spring Water", ("1L", 1000, 65), ("6 x 500ml", 3000, 275)),
        _line("{v} Orange Juice", ("1L", 1030, 140), variants=("Smooth", "With Bits")),
        _line("{v} Apple Juice", ("1L", 1030, 130), variants=("Pressed", "Cloudy")),
        _line("Pineapple Juice", ("1L", 1030, 120)),
        _line("Cranberry Juice Drink", ("1L", 1030, 175)),
        _line("Tomato Juice", ("1L", 1030, 130)),
        _line("Coconut Water", ("330ml", 330, 175)),
        _line("{v} Juice Cartons", ("4 x 200ml", 800, 120), variants=("Orange", "Apple")),
    )),
    _Category("Beer, Wine & Spirits", "ALC", A, ("Old Quay Brewery",), 85, (
        _line("{v} Lager", ("4 x 440ml", 1900, 500), ("10 x 330ml", 3800, 1000),
              variants=("Premium", "Pilsner", "Helles"), brands=("Old Quay Brewery", "Harbour Brewing", OWN_LABEL)),
        _line("{v} Pale Ale", ("4 x 330ml", 1500, 600), variants=("India", "Session"),
              brands=("Old Quay Brewery", "Harbour Brewing")),
        _line("Stout", ("4 x 440ml", 1900, 550), brands=("Old Quay Brewery", "Harbour Brewing", OWN_LABEL)),
        _line("{v} Cider", ("500ml", 530, 200), ("4 x 500ml", 2150, 600), variants=("Apple", "Pear", "Mixed Berry"),
              brands=("Orchard Gold", "Harbour Brewing", OWN_LABEL)),
        _line("{v}", ("75cl", 1250, 700), variants=("Merlot", "Shiraz", "Cabernet Sauvignon", "Malbec", "Rioja"),
              brands=("Château Belvue", "Vale Estate", OWN_LABEL, f"{OWN_LABEL} Finest")),
        _line("{v}", ("75cl", 1250, 650), variants=("Sauvignon Blanc", "Pinot Grigio", "Chardonnay", "Riesling"),
              brands=("Château Belvue", "Vale Estate", OWN_LABEL, f"{OWN_LABEL} Finest")),
        _line("{v} Rosé", ("75cl", 1250, 650), variants=("Provence", "Zinfandel"),
              brands=("Château Belvue", "Vale Estate", OWN_LABEL)),
        _line("Prosecco", ("75cl", 1400, 900), brands=("Vale Estate", OWN_LABEL, f"{OWN_LABEL} Finest")),
        _line("London Dry Gin", ("70cl", 1100, 1800), brands=("Copper Still", "Highland Cask", OWN_LABEL)),
        _line("Blended Scotch Whisky", ("70cl", 1150, 2000), brands=("Copper Still", "Highland Cask", OWN_LABEL)),
        _line("Vodka", ("70cl", 1100, 1600), brands=("Copper Still", OWN_LABEL)),
        _line("Spiced Rum", ("70cl", 1150, 2000), brands=("Copper Still", "Highland Cask")),
    )),
    _Category("Household & Cleaning", "HOU", A, ("Sparkle", "PureHome", "EcoLeaf"), 90, (
        _line("{v} Washing Up Liquid", ("450ml", 480, 100), ("900ml", 960, 180),
              variants=("Original", "Lemon", "Sensitive")),
        _line("{v} Laundry Liquid", ("1.3L", 1350, 500), variants=("Bio", "Non Bio")),
        _line("{v} Laundry Capsules", ("30 pack", 750, 700), variants=("Bio", "Non Bio", "Colour")),
        _line("{v} Fabric Conditioner", ("1.2L", 1220, 250), variants=("Spring Fresh", "Lavender")),
        _line("Dishwasher Tablets", ("40 pack", 720, 500)),
        _line("Multi-Surface Cleaner", ("750ml", 800, 125)),
        _line("{v} Bleach", ("750ml", 800, 85), variants=("Thick", "Citrus")),
        _line("{v} Toilet Rolls", ("4 pack", 450, 175), ("9 pack", 1000, 350), variants=("Soft", "Quilted")),
        _line("Kitchen Roll", ("2 pack", 300, 200)),
        _line("Bin Bags", ("20 pack", 500, 200)),
        _line("Aluminium Foil", ("10m", 300, 125)),
        _line("Cling Film", ("30m", 200, 110)),
        _line("Sponge Scourers", ("10 pack", 80, 85)),
        _line("Tissues", ("3 pack", 300, 150)),
    )),
    _Category("Toiletries & Health", "TOI", A, ("Fresh & Clean", "Dermacare", "BrightSmile"), 85, (
        _line("{v} Shampoo", ("400ml", 420, 250), variants=("Everyday", "Anti-Dandruff", "Colour Care")),
        _line("{v} Conditioner", ("400ml", 420, 250), variants=("Everyday", "Smooth")),
        _line("{v} Shower Gel", ("250ml", 270, 150), variants=("Citrus", "Sensitive", "Sport", "Cocoa Butter")),
        _line("{v} Hand Wash", ("250ml", 280, 100), variants=("Aloe Vera", "Lavender")),
        _line("{v} Toothpaste", ("75ml", 100, 125), variants=("Fresh Mint", "Whitening", "Sensitive")),
        _line("{v} Toothbrushes", ("2 pack", 60, 200), variants=("Medium", "Soft")),
        _line("{v} Deodorant", ("150ml", 120, 200), variants=("Men's", "Women's")),
        _line("Paracetamol Tablets", ("16 pack", 20, 45)),
        _line("Ibuprofen Tablets", ("16 pack", 20, 50)),
        _line("Cotton Pads", ("100 pack", 60, 90)),
        _line("Plasters", ("40 pack", 40, 150)),
        _line("Razors", ("4 pack", 50, 300)),
        _line("Sun Cream SPF30", ("200ml", 220, 500)),
        _line("Lip Balm", ("4g", 15, 150)),
    )),
    _Category("Baby", "BAB", A, ("Little Sprout", "Cosytots"), 70, (
        _line("{v} Nappies", ("24 pack", 900, 400), ("48 pack", 1800, 750),
              variants=("Size 1", "Size 2", "Size 3", "Size 4", "Size 5")),
        _line("{v} Baby Wipes", ("64 pack", 400, 100), variants=("Fragrance Free", "Sensitive")),
        _line("{v} Baby Food Pouch", ("100g", 110, 90),
              variants=("Apple & Pear", "Banana & Mango", "Carrot & Sweet Potato", "Spaghetti Bolognese")),
        _line("First Infant Milk", ("800g", 900, 1300)),
        _line("Baby Rice", ("100g", 100, 150)),
        _line("{v} Toddler Snacks", ("5 pack", 50, 130), variants=("Melty Puffs", "Fruit Bars")),
        _line("Baby Shampoo", ("300ml", 320, 200)),
        _line("Baby Lotion", ("300ml", 320, 225)),
    )),
    _Category("Pet Care", "PET", A, ("Happy Paws", "Whisker Co"), 70, (
        _line("{v} Dry Dog Food", ("2kg", 2000, 550), ("5kg", 5000, 1200),
              variants=("Chicken & Rice", "Beef & Vegetables", "Senior")),
        _line("{v} Wet Dog Food", ("12 x 100g", 1300, 600), variants=("Chicken", "Beef", "Lamb")),
        _line("Dog Treats", ("200g", 200, 200)),
        _line("{v} Dry Cat Food", ("800g", 800, 300), variants=("Salmon", "Chicken", "Kitten")),
        _line("{v} Cat Food Pouches", ("12 x 85g", 1100, 450),
              variants=("Fish Selection", "Meat Selection", "Mixed Selection")),
        _line("Cat Litter", ("10L", 5000, 400)),
        _line("Cat Treats", ("60g", 60, 120)),
    )),
    _Category("Salad & Herbs", "SAL", C, ("Green Acre", "Herb Garden"), 75, (
        _loose("Loose Vine Tomatoes", 90, 350),
        _loose("Loose Beef Tomatoes", 250, 400),
        _line("Cherry Tomatoes", ("250g", 250, 100), ("500g", 500, 180)),
        _line("Salad Tomatoes", ("6 pack", 500, 95)),
        _line("Cucumber", ("", 350, 65)),
        _line("Iceberg Lettuce", ("", 500, 65)),
        _line("Little Gem Lettuce", ("2 pack", 200, 85)),
        _line("{v} Salad", ("120g", 120, 130), variants=("Rocket", "Baby Leaf", "Herb", "Crispy")),
        _line("Baby Spinach", ("240g", 240, 150)),
        _line("Spring Onions", ("100g", 100, 55)),
        _line("Celery", ("", 500, 75)),
        _line("Radishes", ("240g", 240, 70)),
        _line("Fresh {v}", ("30g", 30, 80), variants=("Basil", "Coriander", "Parsley", "Mint", "Chives")),
        _line("{v} Coleslaw", ("300g", 300, 100), variants=("Classic", "Reduced Fat")),
        _line("Cooked Beetroot", ("250g", 250, 90)),
    )),
    _Category("Dairy & Eggs", "DAI", C, ("Meadow Vale", "Hillcrest Dairy", "Clover Fields"), 95, (
        _line("{v} Milk", ("1 pint", 590, 65), ("2 pints", 1170, 110), ("4 pints", 2340, 155),
              variants=("Whole", "Semi-Skimmed", "Skimmed")),
        _line("Organic {v} Milk", ("2 pints", 1170, 150), variants=("Whole", "Semi-Skimmed")),
        _line("{v} Oat Drink", ("1L", 1030, 175), variants=("Original", "Barista")),
        _line("{v} Butter", ("250g", 250, 225), variants=("Salted", "Unsalted")),
        _line("Spreadable Butter", ("500g", 500, 350)),
        _line("{v} Cream", ("300ml", 300, 120), variants=("Double", "Single", "Whipping")),
        _line("Crème Fraîche", ("300ml", 300, 120)),
        _line("Greek Style Yoghurt", ("500g", 500, 140)),
        _line("Natural Yoghurt", ("500g", 500, 75)),
        _line("{v} Yoghurts", ("4 x 125g", 500, 135), variants=("Strawberry", "Peach", "Raspberry", "Vanilla", "Cherry")),
        _line("{v} Free Range Eggs", ("6 pack", 360, 195), ("12 pack", 720, 350), variants=("Medium", "Large"),
              brands=("Happy Hen", "Clover Fields", OWN_LABEL, f"{OWN_LABEL} Finest")),
        _line("Rice Pudding", ("400g", 400, 100)),
        _line("Fresh {v} Juice", ("1L", 1030, 250), variants=("Orange", "Apple", "Pink Grapefruit")),
    )),
    _Category("Cheese", "CHE", C, ("Hillcrest Dairy", "Castle Cheddar Co", "Alpine Valley"), 90, (
        _loose("Deli Counter Mature Cheddar", 200, 1200),
        _loose("Deli Counter Blue Stilton", 200, 1800),
        _loose("Deli Counter Somerset Brie", 200, 1500),
        _loose("Deli Counter Manchego", 200, 2400),
        _loose("Deli Counter Parmigiano Reggiano", 200, 2600),
        _line("{v} Cheddar", ("200g", 200, 210), ("400g", 400, 375),
              variants=("Mild", "Mature", "Extra Mature", "Vintage")),
        _line("Red Leicester", ("400g", 400, 350)),
        _line("Mozzarella", ("125g", 125, 65)),
        _line("Grated Mozzarella", ("250g", 250, 200)),
        _line("Brie", ("200g", 200, 175)),
        _line("Camembert", ("250g", 250, 200)),
        _line("Halloumi", ("225g", 225, 250)),
        _line("Feta", ("200g", 200, 175)),
        _line("Parmesan", ("200g", 200, 325)),
        _line("{v} Soft Cheese", ("180g", 180, 110), variants=("Original", "Light", "Garlic & Herb")),
        _line("Cheese Slices", ("10 pack", 200, 150)),
        _line("Goat's Cheese", ("125g", 125, 175)),
        _line("Blue Stilton", ("220g", 220, 300)),
    )),
    _Category("Meat & Poultry", "MEA", C, ("Field Farm", "Hilltop Butchers"), 85, (
        _loose("Butcher's Counter Beef Rump Steak", 250, 2200),
        _loose("Butcher's Counter Pork Sausages", 60, 900),
        _loose("Butcher's Counter Lamb Chops", 100, 1600),
        _loose("Butcher's Counter Chicken Breast", 170, 1000),
        _loose("Butcher's Counter Beef Mince", 250, 900),
        _loose("Butcher's Counter Pork Belly Slices", 120, 850),
        _line("Chicken Breast Fillets", ("300g", 300, 300), ("650g", 650, 550)),
        _line("Chicken Thighs", ("1kg", 1000, 350)),
        _line("Whole Chicken", ("1.5kg", 1500, 450)),
        _line("{v} Beef Mince", ("500g", 500, 350), variants=("5% Fat", "12% Fat", "20% Fat")),
        _line("Sirloin Steaks", ("2 x 225g", 450, 800)),
        _line("{v} Pork Sausages", ("6 pack", 400, 250), variants=("Cumberland", "Lincolnshire", "Classic")),
        _line("Smoked Back Bacon", ("300g", 300, 250)),
        _line("Unsmoked Streaky Bacon", ("200g", 200, 200)),
        _line("Pork Loin Steaks", ("500g", 500, 350)),
        _line("Lamb Leg Steaks", ("300g", 300, 500)),
        _line("Diced Beef", ("400g", 400, 450)),
        _line("Cooked Ham Slices", ("125g", 125, 175)),
        _line("Chicken Drumsticks", ("1kg", 1000, 250)),
    )),
    _Category("Fish & Seafood", "FIS", C, ("Seaview", "North Atlantic"), 75, (
        _loose("Fish Counter Salmon Fillet", 150, 2200),
        _loose("Fish Counter Cod Loin", 180, 2000),
        _loose("Fish Counter Whole Sea Bass", 350, 1600),
        _loose("Fish Counter Raw King Prawns", 20, 2500),
        _loose("Fish Counter Whole Mackerel", 300, 900),
        _loose("Fish Counter Haddock Fillet", 170, 1800),
        _line("Salmon Fillets", ("2 x 120g", 240, 400), ("4 x 120g", 480, 750)),
        _line("Cod Fillets", ("2 pack", 260, 450)),
        _line("Smoked Salmon", ("100g", 100, 300), ("200g", 200, 550)),
        _line("Cooked King Prawns", ("150g", 150, 300)),
        _line("Smoked Mackerel Fillets", ("200g", 200, 250)),
        _line("Haddock Fillets", ("2 pack", 260, 425)),
        _line("Tuna Steaks", ("2 pack", 240, 500)),
        _line("Fish Pie Mix", ("320g", 320, 400)),
        _line("Sea Bass Fillets", ("2 pack", 200, 450)),
        _line("Scottish Mussels", ("500g", 500, 300)),
    )),
    _Category("Deli & Ready Meals", "DEL", C, ("Chef's Kitchen", "Deli Fresco"), 95, (
        _line("{v}", ("400g", 400, 300),
              variants=("Lasagne", "Cottage Pie", "Chicken Tikka Masala", "Macaroni Cheese", "Fish Pie",
                        "Beef Chilli", "Thai Green Curry", "Sweet & Sour Chicken")),
        _line("{v} Fresh Pizza", ("10 inch", 450, 350), variants=("Margherita", "Pepperoni", "Ham & Mushroom", "Four Cheese")),
        _line("Fresh {v}", ("300g", 300, 250),
              variants=("Spinach & Ricotta Tortelloni", "Mushroom Ravioli", "Egg Tagliatelle")),
        _line("{v} Hummus", ("200g", 200, 100), variants=("Classic", "Red Pepper", "Reduced Fat")),
        _line("{v} Dip", ("170g", 170, 150), variants=("Guacamole", "Tomato Salsa", "Tzatziki", "Sour Cream & Chive")),
        _line("{v} Sandwich", ("", 200, 300), variants=("Chicken & Bacon", "Egg Mayo", "Tuna & Sweetcorn", "Cheese & Pickle")),
        _line("Pork Pies", ("4 pack", 200, 200)),
        _line("Scotch Eggs", ("2 pack", 226, 175)),
        _line("Sliced Chorizo", ("80g", 80, 175)),
        _line("Prosciutto", ("80g", 80, 275)),
        _line("Cooked Chicken Slices", ("150g", 150, 225)),
        _line("Quiche Lorraine", ("400g", 400, 300)),
        _line("{v} Fresh Soup", ("600g", 600, 250), variants=("Tomato & Basil", "Chicken", "Butternut Squash")),
    )),
    _Category("Frozen Vegetables & Chips", "FVG", F, ("Arctic Harvest", "Polar Farms"), 70, (
        _line("Frozen Garden Peas", ("900g", 900, 125)),
        _line("Frozen Petits Pois", ("900g", 900, 175)),
        _line("Frozen Sweetcorn", ("900g", 900, 150)),
        _line("Frozen Mixed Vegetables", ("1kg", 1000, 150)),
        _line("Frozen Broccoli Florets", ("900g", 900, 175)),
        _line("Frozen Leaf Spinach", ("900g", 900, 150)),
        _line("{v} Chips", ("1.5kg", 1500, 200), variants=("Straight Cut", "Crinkle Cut", "Chunky")),
        _line("Sweet Potato Fries", ("750g", 750, 250)),
        _line("Frozen Roast Potatoes", ("1kg", 1000, 200)),
        _line("Hash Browns", ("700g", 700, 175)),
        _line("Potato Waffles", ("10 pack", 567, 200)),
        _line("Edamame Beans", ("500g", 500, 250)),
        _line("Stir Fry Vegetables", ("750g", 750, 200)),
        _line("Battered Onion Rings", ("550g", 550, 175)),
    )),
    _Category("Frozen Meals & Pizza", "FML", F, ("Arctic Kitchen", "Napoli Oven"), 75, (
        _line("{v} Stonebaked Pizza", ("", 400, 275), ("2 pack", 800, 450),
              variants=("Margherita", "Pepperoni", "Meat Feast", "Vegetable", "BBQ Chicken")),
        _line("{v} Thin & Crispy Pizza", ("", 350, 200), variants=("Margherita", "Ham & Pineapple", "Pepperoni")),
        _line("Frozen {v}", ("400g", 400, 200),
              variants=("Lasagne", "Cottage Pie", "Chicken Curry & Rice", "Chilli Con Carne", "Macaroni Cheese")),
        _line("Yorkshire Puddings", ("12 pack", 220, 125)),
        _line("Garlic Bread", ("2 pack", 420, 150)),
        _line("Vegetable Spring Rolls", ("12 pack", 240, 175)),
        _line("Vegetable Burgers", ("4 pack", 454, 250)),
        _line("Meat-Free Mince", ("500g", 500, 300)),
        _line("{v} Pies", ("2 pack", 400, 300), variants=("Steak", "Chicken & Mushroom")),
    )),
    _Category("Ice Cream & Desserts", "ICE", F, ("Scoop & Co", "Polar Dream"), 85, (
        _line("{v} Ice Cream", ("500ml", 330, 250), ("1L", 560, 300),
              variants=("Vanilla", "Chocolate", "Strawberry", "Mint Choc Chip", "Salted Caramel", "Cookie Dough",
                        "Raspberry Ripple")),
        _line("{v} Ice Lollies", ("8 pack", 480, 175), variants=("Fruit", "Orange", "Strawberry")),
        _line("Choc Ices", ("6 pack", 270, 150)),
        _line("{v} Ice Cream Cones", ("4 pack", 300, 250), variants=("Vanilla", "Chocolate", "Mint")),
        _line("{v} Sorbet", ("500ml", 350, 275), variants=("Lemon", "Mango")),
        _line("{v} Cheesecake", ("500g", 500, 325), variants=("Strawberry", "Chocolate", "Lemon")),
        _line("Profiteroles", ("300g", 300, 225)),
        _line("Bramley Apple Pie", ("600g", 600, 225)),
        _line("Arctic Roll", ("250g", 250, 150)),
    )),
    _Category("Frozen Meat & Fish", "FMF", F, ("Arctic Catch", "Polar Farms"), 75, (
        _line("Breaded Chicken {v}", ("400g", 400, 225), ("1kg", 1000, 450), variants=("Nuggets", "Dippers", "Goujons")),
        _line("Garlic Chicken Kievs", ("2 pack", 250, 200)),
        _line("{v} Beef Burgers", ("4 pack", 454, 250), variants=("Quarter Pounder", "Classic")),
        _line("Cod Fish Fingers", ("10 pack", 300, 175), ("20 pack", 600, 300)),
        _line("Battered Cod Fillets", ("4 pack", 480, 400)),
        _line("Breaded Haddock Fillets", ("4 pack", 480, 425)),
        _line("Frozen Raw King Prawns", ("300g", 300, 450)),
        _line("Frozen Salmon Fillets", ("4 x 125g", 500, 475)),
        _line("Wholetail Scampi", ("300g", 300, 375)),
        _line("Frozen Pork Sausages", ("20 pack", 900, 275)),
        _line("Turkey Breast Joint", ("1.2kg", 1200, 1200)),
        _line("Beef Meatballs", ("450g", 450, 225)),
    )),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class DemoProduct:
    sku: str
    gtin: str
    name: str
    brand: str
    category: str
    sold_by: SoldBy
    unit_weight_g: int
    temperature_zone: TemperatureZone
    base_price_minor: int  # before the store's own adjustment; per kg when sold by weight

    def as_product(self, tenant_id: str) -> Product:
        """The catalog product for ``tenant_id``, with a new id."""
        return Product(
            id=new_id(),
            tenant_id=tenant_id,
            sku=self.sku,
            gtin=self.gtin,
            name=self.name,
            brand=self.brand,
            category=self.category,
            sold_by=self.sold_by,
            unit_weight_g=self.unit_weight_g,
            temperature_zone=self.temperature_zone,
        )


@dataclass(frozen=True)
class DemoCatalog:
    seed: int
    products: tuple[DemoProduct, ...]
    categories: tuple[str, ...]  # in walk order
    # One dict per store, keyed by SKU.
    store_prices: tuple[dict[str, int], ...] = field(default_factory=tuple)
    store_layouts: tuple[dict[str, ShelfLocation], ...] = field(default_factory=tuple)

    def to_csv(self, store_index: int | None = None) -> str:
        """The catalog as an importable CSV (``import_catalog_csv``), with one store's prices and places."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        with_store = store_index is not None
        writer.writerow([*REQUIRED_COLUMNS, *(STORE_COLUMNS if with_store else ())])
        for p in self.products:
            row: list[object] = [p.sku, p.gtin, p.name, p.brand, p.category, p.sold_by.value, p.unit_weight_g]
            row.append(p.temperature_zone.value)
            if store_index is not None:
                place = self.store_layouts[store_index][p.sku]
                row.extend([self.store_prices[store_index][p.sku], place.aisle, place.bay, place.shelf])
            writer.writerow(row)
        return out.getvalue()


def generate_demo_catalog(seed: int = 42, store_count: int = 3) -> DemoCatalog:
    """Pure and deterministic for ``seed``: no clock, no ids, no hash-order dependence."""
    if store_count < 0:
        raise ValueError("store_count must not be negative")
    rng = random.Random(seed)
    brand_names = sorted({b for cat in CATEGORIES for b in _brands_used(cat)} - {""})
    company_prefixes = rng.sample(range(10_000, 99_999), len(brand_names))
    prefix_of = dict(zip(brand_names, company_prefixes, strict=True))
    brand_markup = {b: rng.randint(1120, 1380) for b in brand_names}  # national brands cost more
    brand_markup.update({name: permille for name, permille in OWN_TIERS})
    next_item = dict.fromkeys(brand_names, 0)
    next_loose_item = 0

    products: list[DemoProduct] = []
    used_names: set[str] = set()
    walk = sorted(CATEGORIES, key=lambda c: ZONE_WALK_ORDER.index(c.zone))  # stable: keeps list order in a zone
    for category in walk:
        chosen = _choose(category, rng)
        for number, (line, variant, brand, size) in enumerate(chosen, start=1):
            name = _product_name(line, variant, brand, size)
            if name in used_names:
                continue
            used_names.add(name)
            if line.loose:
                next_loose_item += 1
                # In-store (restricted circulation) number with a zero weight field: the scale label
                # prints the weighed quantity into the last five digits at the counter.
                body = f"21{next_loose_item:05d}00000"
                price = size.price
            else:
                next_item[brand] += 1
                body = f"50{prefix_of[brand]:05d}{next_item[brand]:05d}"
                variant_permille = rng.randint(920, 1120)
                price = _shelf_price(size.price * brand_markup[brand] * variant_permille // 1_000_000)
            products.append(
                DemoProduct(
                    sku=f"{category.code}-{number:04d}",
                    gtin=body + str(gtin_check_digit(body)),
                    name=name,
                    brand=brand,
                    category=category.name,
                    sold_by=SoldBy.WEIGHT if line.loose else SoldBy.EACH,
                    unit_weight_g=size.grams,
                    temperature_zone=category.zone,
                    base_price_minor=price,
                )
            )

    store_prices: list[dict[str, int]] = []
    store_layouts: list[dict[str, ShelfLocation]] = []
    size_offset = rng.randrange(len(BAYS_PER_AISLE_CHOICES))
    for store in range(store_count):
        store_permille = rng.randint(970, 1050)  # rent and footfall differ by neighbourhood
        store_prices.append(
            {
                p.sku: _shelf_price(
                    p.base_price_minor * (store_permille + rng.choice((-20, -10, 0, 0, 0, 10, 20))) // 1000
                )
                for p in products
            }
        )
        bays_per_aisle = BAYS_PER_AISLE_CHOICES[(size_offset + store) % len(BAYS_PER_AISLE_CHOICES)]
        store_layouts.append(_layout(products, walk, bays_per_aisle=bays_per_aisle))
    return DemoCatalog(
        seed=seed,
        products=tuple(products),
        categories=tuple(c.name for c in walk),
        store_prices=tuple(store_prices),
        store_layouts=tuple(store_layouts),
    )


def seed_demo_catalog(uow: UnitOfWork, *, tenant_id: str, store_ids: Sequence[str], seed: int = 42) -> ImportSummary:
    """Write the demo assortment with prices and shelf locations for every store, in bulk."""
    catalog = generate_demo_catalog(seed, store_count=len(store_ids))
    products = [p.as_product(tenant_id) for p in catalog.products]
    id_of = {p.sku: p.id for p in products}
    prices = {
        store_id: {id_of[sku]: price for sku, price in catalog.store_prices[i].items()}
        for i, store_id in enumerate(store_ids)
    }
    places = {
        store_id: {id_of[sku]: place for sku, place in catalog.store_layouts[i].items()}
        for i, store_id in enumerate(store_ids)
    }
    return services.bulk_load(uow, tenant_id=tenant_id, products=products, prices=prices, locations=places)


# --- internals ------------------------------------------------------------------------------------


def _brands_used(category: _Category) -> list[str]:
    names: list[str] = []
    for line in category.lines:
        names.extend(_line_brands(category, line))
    return names


def _line_brands(category: _Category, line: _Line) -> tuple[str, ...]:
    if line.loose:
        return ("",)
    if line.brands:
        return line.brands
    return (*(name for name, _ in OWN_TIERS), *category.brands)


def _choose(category: _Category, rng: random.Random) -> list[tuple[_Line, str, str, _Size]]:
    """Every loose line, then a spread of packaged combinations up to the category's target, in
    shelf order (line, variant, brand, size)."""
    combos: list[list[tuple[int, int, int, int]]] = []
    picked: list[tuple[int, int, int, int]] = []
    for li, line in enumerate(category.lines):
        line_combos = [
            (li, vi, bi, si)
            for vi in range(len(line.variants))
            for bi in range(len(_line_brands(category, line)))
            for si in range(len(line.sizes))
        ]
        if line.loose:
            picked.extend(line_combos)
        else:
            rng.shuffle(line_combos)
            combos.append(line_combos)
    # Round-robin over the lines so every product line is stocked before any line gets deep.
    while len(picked) < category.target and any(combos):
        for line_combos in combos:
            if line_combos and len(picked) < category.target:
                picked.append(line_combos.pop())
    picked.sort()
    chosen = []
    for li, vi, bi, si in picked:
        line = category.lines[li]
        chosen.append((line, line.variants[vi], _line_brands(category, line)[bi], line.sizes[si]))
    return chosen


def _product_name(line: _Line, variant: str, brand: str, size: _Size) -> str:
    noun = line.noun.format(v=variant) if "{v}" in line.noun else f"{variant} {line.noun}"
    return " ".join(part for part in (brand, noun.strip(), size.label) if part)


def _shelf_price(minor: int) -> int:
    """Round to the nearest 5 minor units; round pounds become .99 / .49 the way shelf tickets do."""
    price = max(5, (minor + 2) // 5 * 5)
    if price >= 100 and price % 50 == 0:
        price -= 1
    return price


def _layout(
    products: Sequence[DemoProduct], walk: Sequence[_Category], *, bays_per_aisle: int
) -> dict[str, ShelfLocation]:
    """Fill bays shelf by shelf along the walk; each category starts a fresh bay, each zone a fresh aisle."""
    by_category: dict[str, list[DemoProduct]] = {c.name: [] for c in walk}
    for p in products:
        by_category[p.category].append(p)
    places: dict[str, ShelfLocation] = {}
    aisle, bay = 1, 0
    zone: TemperatureZone | None = None
    for category in walk:
        if zone is not None and category.zone != zone:
            aisle, bay = aisle + 1, 0
        zone = category.zone
        per_bay = SHELVES_PER_BAY[zone] * FACINGS_PER_SHELF
        for index, product in enumerate(by_category[category.name]):
            if index % per_bay == 0:
                bay += 1
                if bay > bays_per_aisle:
                    aisle, bay = aisle + 1, 1
            places[product.sku] = ShelfLocation(aisle, bay, index % per_bay // FACINGS_PER_SHELF + 1)
    return places
